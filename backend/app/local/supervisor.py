"""One supervised group of child processes (what `seo-platform up` runs).

Each child runs in its own process group, so a signal reaches it and everything it forked
(pool processes, database backends) and nothing else. Output is prefixed with the child's
name and the last lines are kept for the crash report. The policy is fail-fast: a child that
exits on its own is reported (name, exit code, last lines) and the whole group stops with a
non-zero exit; restarting would hide a crash loop behind a working-looking prompt.

Stopping: every child gets its stop signal (TERM, or INT for PostgreSQL's fast shutdown) in
reverse start order, then KILL for whatever is left after a bounded grace period.
"""

import contextlib
import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import IO

TAIL_LINES = 30
_PR_SET_PDEATHSIG = 1


def _load_prctl() -> Callable[[int, int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[[int, int], int] = libc.prctl
    return prctl


# Resolved in the parent: the pre-exec hook must not import or allocate much after fork.
_prctl = _load_prctl()


def _die_with_parent() -> None:
    # If the supervisor is killed outright (SIGKILL), the kernel sends TERM to the child, so
    # even then nothing is left behind.
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ChildSpec:
    name: str
    command: list[str]
    env: Mapping[str, str] | None = None
    cwd: str | None = None
    user: str | None = None
    stop_signal: int = signal.SIGTERM
    # Database and broker: started first, stopped after everything that uses them.
    infrastructure: bool = False


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    reader: threading.Thread | None = None


class ChildDiedError(Exception):
    def __init__(self, child: Child, returncode: int) -> None:
        super().__init__(f"{child.spec.name} exited with code {returncode}")
        self.child = child
        self.returncode = returncode


class ProcessGroup:
    def __init__(self, *, out: IO[str] | None = None, grace_seconds: float = 20.0) -> None:
        self.children: list[Child] = []
        self.grace_seconds = grace_seconds
        self.out = out or sys.stdout
        self._write_lock = threading.Lock()
        self.stop_requested = threading.Event()
        self._name_width = 8

    # -- output ---------------------------------------------------------------------------
    def say(self, message: str) -> None:
        with self._write_lock:
            self.out.write(message + "\n")
            self.out.flush()

    def _pump(self, child: Child, stream: IO[bytes]) -> None:
        prefix = f"{child.spec.name:<{self._name_width}} | "
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            child.tail.append(line)
            with self._write_lock:
                self.out.write(prefix + line + "\n")
                self.out.flush()
        stream.close()

    # -- lifecycle ------------------------------------------------------------------------
    def start(self, spec: ChildSpec) -> Child:
        self._name_width = max(self._name_width, len(spec.name))
        process = subprocess.Popen(  # noqa: S603 - commands built by this package
            spec.command,
            env=dict(spec.env) if spec.env is not None else None,
            cwd=spec.cwd,
            user=spec.user,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=_die_with_parent,  # only a prctl call after fork
        )
        child = Child(spec=spec, process=process)
        assert process.stdout is not None
        child.reader = threading.Thread(
            target=self._pump, args=(child, process.stdout), name=f"log-{spec.name}", daemon=True
        )
        child.reader.start()
        self.children.append(child)
        return child

    def check(self) -> None:
        """Raise ChildDiedError for the first child that exited on its own."""
        for child in self.children:
            returncode = child.process.poll()
            if returncode is not None:
                if child.reader is not None:
                    child.reader.join(timeout=2)
                raise ChildDiedError(child, returncode)

    def wait_while_running(self, seconds: float, *, interval: float = 0.2) -> None:
        """Sleep up to `seconds`, watching the children; returns early when a stop is asked."""
        deadline = time.monotonic() + seconds
        while not self.stop_requested.is_set() and time.monotonic() < deadline:
            self.check()
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    def report_death(self, died: ChildDiedError) -> None:
        child = died.child
        lines = "\n".join(f"    {line}" for line in child.tail) or "    (no output)"
        how = f"exited with code {died.returncode}"
        if died.returncode < 0:
            how = f"was killed by {signal.Signals(-died.returncode).name}"
        self.say(
            f"\n!!! {child.spec.name} (pid {child.process.pid}) {how}; stopping everything.\n"
            f"!!! its last {len(child.tail)} lines:\n{lines}\n"
        )

    def stop_all(self) -> None:
        """The app children first (all at once), then the database and broker they use."""
        apps = [child for child in self.children if not child.spec.infrastructure]
        infrastructure = [child for child in reversed(self.children) if child.spec.infrastructure]
        for batch in (apps, infrastructure):
            self._stop_batch(batch)
        for child in self.children:
            # The group may still hold grandchildren after its leader exited.
            self._signal_group(child, signal.SIGKILL)
            if child.reader is not None:
                child.reader.join(timeout=2)

    def _stop_batch(self, batch: list[Child]) -> None:
        for child in batch:
            if child.process.poll() is None:
                self._signal_group(child, child.spec.stop_signal)
        deadline = time.monotonic() + self.grace_seconds
        for child in batch:
            try:
                child.process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.say(f"{child.spec.name} still runs after {self.grace_seconds:.0f}s: KILL")
                self._signal_group(child, signal.SIGKILL)
                child.process.wait(timeout=10)

    @staticmethod
    def _signal_group(child: Child, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.process.pid, signum)

    def install_signal_handlers(self) -> None:
        def request_stop(signum: int, _frame: FrameType | None) -> None:
            if self.stop_requested.is_set():
                return
            self.stop_requested.set()
            self.say(f"\n{signal.Signals(signum).name} received: stopping every process...")

        signal.signal(signal.SIGINT, request_stop)
        signal.signal(signal.SIGTERM, request_stop)
