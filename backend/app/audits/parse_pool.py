"""HTML parsing in worker processes, so parsing (the crawl's CPU cost) runs on another core
while the event loop keeps fetching.

The workers are plain subprocesses speaking length-prefixed pickle frames over their pipes
(not multiprocessing: Celery's prefork children are daemonic and may not fork pool
children). Only what we produced ourselves crosses the pipe: a page, its body bytes, the
charset, and the filled page back.
"""

import asyncio
import contextlib
import os
import pickle
import struct
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from app.audits.page import CrawledPage
from app.audits.parser import decode_html, parse_html
from app.audits.urls import SiteScope

_HEADER = struct.Struct("!I")
# Frames in flight per worker: enough to keep it busy, few enough to bound memory.
MAX_PENDING_PER_WORKER = 8
_BACKEND_DIR = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True, slots=True)
class ParseSettings:
    site: str
    include_subdomains: bool
    tracking_params: tuple[str, ...]
    bot_token: str


def parse_page(page: CrawledPage, body: bytes, charset: str | None, how: ParseSettings) -> None:
    scope = SiteScope(how.site, how.include_subdomains)
    try:
        parse_html(
            page,
            decode_html(body, charset),
            scope=scope,
            tracking_params=how.tracking_params,
            bot_token=how.bot_token,
        )
    except Exception as exc:  # one odd document must not end the crawl
        page.error_detail = f"HTML could not be parsed: {exc!r}"[:500]


class _Worker:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.pending: deque[asyncio.Future[CrawledPage]] = deque()
        self.reader = asyncio.create_task(self._read_results())

    async def _read_results(self) -> None:
        assert self.process.stdout is not None
        try:
            while True:
                header = await self.process.stdout.readexactly(_HEADER.size)
                (length,) = _HEADER.unpack(header)
                payload = await self.process.stdout.readexactly(length)
                future = self.pending.popleft()
                if not future.done():
                    future.set_result(pickle.loads(payload))  # noqa: S301 - our own child
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            while self.pending:
                future = self.pending.popleft()
                if not future.done():
                    future.set_exception(RuntimeError(f"parse worker exited: {exc}"))

    async def submit(self, frame: bytes) -> CrawledPage:
        assert self.process.stdin is not None
        future: asyncio.Future[CrawledPage] = asyncio.get_running_loop().create_future()
        self.pending.append(future)
        self.process.stdin.write(_HEADER.pack(len(frame)) + frame)
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
        settings_frame = pickle.dumps(self._how)
        for _ in range(self._count):
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "app.audits.parse_pool",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                env=env,
            )
            assert process.stdin is not None
            process.stdin.write(_HEADER.pack(len(settings_frame)) + settings_frame)
            self._workers.append(_Worker(process))

    async def parse(self, page: CrawledPage, body: bytes, charset: str | None) -> CrawledPage:
        if not self._workers:
            parse_page(page, body, charset, self._how)
            return page
        async with self._slots:
            worker = min(self._workers, key=lambda w: len(w.pending))
            frame = pickle.dumps((page, body, charset), protocol=pickle.HIGHEST_PROTOCOL)
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


def _read_frame(stream: BinaryIO) -> bytes | None:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (length,) = _HEADER.unpack(header)
    return stream.read(length)


def serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    """The worker's loop: settings once, then (page, body, charset) -> page."""
    first = _read_frame(stdin)
    if first is None:
        return
    how: ParseSettings = pickle.loads(first)  # noqa: S301 - frames come from our parent
    while (frame := _read_frame(stdin)) is not None:
        page, body, charset = pickle.loads(frame)  # noqa: S301
        parse_page(page, body, charset, how)
        result = pickle.dumps(page, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.write(_HEADER.pack(len(result)) + result)
        stdout.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
