"""HTML parsing in worker processes, so parsing (the crawl's CPU cost) runs on another core
while the event loop keeps fetching.

The workers are plain subprocesses (parse_worker.py) speaking length-prefixed pickle frames
over their pipes (not multiprocessing: Celery's prefork children are daemonic and may not
fork pool children). Only what we produced ourselves crosses the pipe: a page, its body
bytes, the charset, and the filled page back.
"""

import asyncio
import contextlib
import os
import sys
from collections import deque
from pathlib import Path

from app.audits.crawl.parse_worker import ParseSettings, parse_page
from app.audits.page import CrawledPage
from app.core.frames import HEADER, decode_frame, encode_frame

__all__ = ["ParsePool", "ParseSettings"]

# Frames in flight per worker: enough to keep it busy, few enough to bound memory.
MAX_PENDING_PER_WORKER = 8
_BACKEND_DIR = str(Path(__file__).resolve().parents[2])


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pending: deque[asyncio.Future[CrawledPage]] = deque()
        self.reader = asyncio.create_task(self._read_results())

    async def _read_results(self) -> None:
        assert self.process.stdout is not None
        try:
            while True:
                header = await self.process.stdout.readexactly(HEADER.size)
                (length,) = HEADER.unpack(header)
                payload = await self.process.stdout.readexactly(length)
                future = self.pending.popleft()
                if not future.done():
                    future.set_result(decode_frame(payload))
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            while self.pending:
                future = self.pending.popleft()
                if not future.done():
                    future.set_exception(RuntimeError(f"parse worker exited: {exc}"))

    async def submit(self, frame: bytes) -> CrawledPage:
        assert self.process.stdin is not None
        future: asyncio.Future[CrawledPage] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        self.process.stdin.write(frame)
        await self.process.stdin.drain()
        return await future


class ParsePool:
    """`workers` parsing subprocesses; with 0, pages are parsed in the event loop."""

    def __init__(self, how: ParseSettings, *, workers: int) -> None:
        self._how = how
        self._count = workers
        self._workers: list[_Worker] = []
        self._slots = asyncio.Semaphore(max(1, workers) * MAX_PENDING_PER_WORKER)

    async def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": _BACKEND_DIR}
        settings_frame = encode_frame(self._how)
        for _ in range(self._count):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "app.audits.crawl.parse_worker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            assert process.stdin is not None
            process.stdin.write(settings_frame)
            self._workers.append(_Worker(process))

    async def parse(self, page: CrawledPage, body: bytes, charset: str | None) -> CrawledPage:
        if not self._workers:
            parse_page(page, body, charset, self._how)
            return page
        async with self._slots:
            worker = min(self._workers, key=lambda w: len(w.pending))
            frame = encode_frame((page, body, charset))
            try:
                return await worker.submit(frame)
            except (RuntimeError, ConnectionError, BrokenPipeError):
                # A dead worker costs speed, not results: parse here instead.
                parse_page(page, body, charset, self._how)
                return page

    async def close(self) -> None:
        for worker in self._workers:
            if worker.process.stdin is not None:
                worker.process.stdin.close()
        for worker in self._workers:
            try:
                await asyncio.wait_for(worker.process.wait(), timeout=5)
            except TimeoutError:
                worker.process.kill()
                await worker.process.wait()
            worker.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker.reader
        self._workers.clear()
