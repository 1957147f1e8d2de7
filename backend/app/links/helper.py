"""The importer's side of its parse helper: a second process that parses chunks of a
links export (chunks.py) while the importing process parses others and writes them (one
process's Python parsing was the import's limit). What runs in it: helper_process.py.

The helper is started as `python -m app.links.helper_process`, not forked: the Celery
worker's prefork children are daemonic (multiprocessing refuses them children), and they
hold threads and connections that a fork would copy. Two threads here write its chunks to
its stdin and read its results from its stdout, so the importer never blocks on the pipes.
The importer kills it on cancel or error. If the importer itself dies, the helper's stdin
closes and it exits after its current chunk. If the helper dies, the importer parses the
chunks still with it itself (their text is kept until their results are read).
"""

import contextlib
import fcntl
import os
import pickle
import queue
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

from app.core.frames import decode_frame, encode_frame, read_frame
from app.links.chunks import ChunkResult
from app.links.helper_process import HelperSetup

_BACKEND_DIR = Path(__file__).resolve().parents[2]
_GONE = object()


class HelperGoneError(RuntimeError):
    """The helper process ended before answering."""


# A pipe's buffer, where the system allows it: a chunk or a result passes in one system
# call. With the default 64 KiB, a message took a dozen, and the importer's sending and
# receiving threads waited for the interpreter lock before each (up to 5 ms while the
# main thread parses): the helper sat idle a third of the time (measured).
_PIPE_BYTES = 1 << 20


def _widen(fd: int) -> None:
    with contextlib.suppress(OSError, AttributeError):  # not Linux, or over pipe-max-size
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


def _receive(stream: IO[bytes]) -> object:
    """The next message, or _GONE at the end of the stream."""
    payload = read_frame(stream)
    return _GONE if payload is None else decode_frame(payload)


class ParseHelper:
    """The importer's side: starts the helper, sends it chunks, hands back its results."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_BACKEND_DIR), env.get("PYTHONPATH", "")) if p
        )
        self._process = subprocess.Popen(
            [sys.executable, "-m", "app.links.helper_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        for pipe in (self._process.stdin, self._process.stdout):
            assert pipe is not None
            _widen(pipe.fileno())
        self._outbox: queue.Queue[bytes | None] = queue.Queue()
        self._results: queue.Queue[object] = queue.Queue()
        self.outstanding = 0  # chunks sent whose answers are not taken yet
        self.alive = True
        self._threads = [
            threading.Thread(target=self._send_all, name="links-helper-send", daemon=True),
            threading.Thread(target=self._receive_all, name="links-helper-receive", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    @property
    def busy(self) -> int:
        """Chunks sent and not yet answered (answers waiting to be taken are not)."""
        return self.outstanding - self._results.qsize()

    def setup(self, setup: HelperSetup) -> None:
        self._outbox.put(encode_frame(setup))

    def send(self, text: str, *, final: bool) -> None:
        self._outbox.put(encode_frame((text, final)))
        self.outstanding += 1

    def result(self, *, wait: bool) -> ChunkResult | None:
        """The oldest chunk's result; None when it is not there yet and `wait` is False.
        Raises HelperGoneError when the helper ended (it is then not alive)."""
        if not self.alive:
            raise HelperGoneError("the parse helper is not running")
        try:
            result = self._results.get(block=wait)
        except queue.Empty:
            return None
        if result is _GONE:
            self.alive = False
            raise HelperGoneError("the parse helper ended before answering")
        self.outstanding -= 1
        assert isinstance(result, ChunkResult)
        return result

    def close(self, *, kill: bool) -> None:
        """Stops the helper: after its chunks (it reads the end of its input), or at once."""
        if kill:
            self._process.kill()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join()
        self._process.wait()
        self.alive = False

    def _send_all(self) -> None:
        stream = self._process.stdin
        assert stream is not None
        # An OSError: the helper ended (its results' reader says so).
        with contextlib.suppress(OSError), stream:
            while (frame := self._outbox.get()) is not None:
                stream.write(frame)
                stream.flush()

    def _receive_all(self) -> None:
        stream = self._process.stdout
        assert stream is not None
        with stream:
            while True:
                try:
                    message = _receive(stream)
                except (OSError, pickle.UnpicklingError, EOFError):
                    message = _GONE
                self._results.put(message)
                if message is _GONE:
                    return
