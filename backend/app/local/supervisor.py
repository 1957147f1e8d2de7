"""One supervised group of child processes (what `seo-platform up` runs).

Each child runs in its own process group, so a signal reaches it and everything it forked
(pool processes, database backends) and nothing else. Output is prefixed with the child's
name and the last lines are kept for the crash report. A child that exits on its own is
reported (name, exit code, last lines). The platform's own processes (API, workers, Beat,
Flower) are then started again after a back-off that doubles with each quick death (1 s up
to 30 s) and starts over once a run lasted a stable minute: a worker that dies when Redis
goes away comes back when Redis does, and a crash loop shows as a slowing stream of reports
rather than a hot loop. The database and the broker are not restarted: when one of them
dies the whole group stops with a non-zero exit, since nothing works without them.

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
    # Started again (with back-off) when it exits on its own; otherwise its death stops all.
    restart: bool = False


@dataclass(frozen=True)
class RestartBackoff:
    """Delay before starting a dead child again: `initial`, doubled after each death that
    followed a short run, at most `maximum`; a run of `stable_after` seconds resets it."""

    initial: float = 1.0
    maximum: float = 30.0
    stable_after: float = 60.0

    def delay(self, quick_deaths: int) -> float:
        return min(self.maximum, self.initial * 2.0 ** max(0, quick_deaths - 1))


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen[bytes]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=TAIL_LINES))
    reader: threading.Thread | None = None
    started_at: float = field(default_factory=time.monotonic)
    restarts: int = 0
    quick_deaths: int = 0
    # Set while the child is dead and waiting for its restart.
    restart_at: float | None = None


class ChildDiedError(Exception):
    def __init__(self, child: Child, returncode: int) -> None:
        super().__init__(f"{child.spec.name} exited with code {returncode}")
        self.child = child
        self.returncode = returncode


class ProcessGroup:
    def __init__(
        self,
        *,
        out: IO[str] | None = None,
        grace_seconds: float = 20.0,
        backoff: RestartBackoff | None = None,
    ) -> None:
        self.children: list[Child] = []
        self.grace_seconds = grace_seconds
        self.backoff = backoff or RestartBackoff()
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
        child = Child(spec=spec, process=self._spawn(spec))
        self._read_output(child)
        self.children.append(child)
        return child

    @staticmethod
    def _spawn(spec: ChildSpec) -> subprocess.Popen[bytes]:
        return subprocess.Popen(  # noqa: S603 - commands built by this package
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

    def _read_output(self, child: Child) -> None:
        stdout = child.process.stdout
        assert stdout is not None
        child.reader = threading.Thread(
            target=self._pump, args=(child, stdout), name=f"log-{child.spec.name}", daemon=True
        )
        child.reader.start()

    def check(self) -> None:
        """Restart the restartable children that are due, schedule the restart of those that
        just died; raise ChildDiedError for the first other child that exited on its own."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at and not self.stop_requested.is_set():
                    self._restart(child)
                continue
            returncode = child.process.poll()
            if returncode is None:
                continue
            if child.reader is not None:
                child.reader.join(timeout=2)
            if not child.spec.restart:
                raise ChildDiedError(child, returncode)
            self._schedule_restart(child, returncode, now)

    def _schedule_restart(self, child: Child, returncode: int, now: float) -> None:
        if now - child.started_at >= self.backoff.stable_after:
            child.quick_deaths = 0
        child.quick_deaths += 1
        delay = self.backoff.delay(child.quick_deaths)
        child.restart_at = now + delay
        # What the dead leader left in its group (a worker's pool processes) goes with it.
        self._signal_group(child, signal.SIGKILL)
        self._report(child, returncode, f"restarting it in {delay:g}s")

    def _restart(self, child: Child) -> None:
        child.restart_at = None
        child.restarts += 1
        child.tail.clear()
        child.process = self._spawn(child.spec)
        child.started_at = time.monotonic()
        self._read_output(child)
        self.say(f"--- {child.spec.name} started again (pid {child.process.pid})")

    def wait_while_running(self, seconds: float, *, interval: float = 0.2) -> None:
        """Sleep up to `seconds`, watching the children; returns early when a stop is asked."""
        deadline = time.monotonic() + seconds
        while not self.stop_requested.is_set() and time.monotonic() < deadline:
            self.check()
            time.sleep(min(interval, max(0.0, deadline - time.monotonic())))

    def report_death(self, died: ChildDiedError) -> None:
        self._report(died.child, died.returncode, "stopping everything")

    def _report(self, child: Child, returncode: int, consequence: str) -> None:
        lines = "\n".join(f"    {line}" for line in child.tail) or "    (no output)"
        how = f"exited with code {returncode}"
        if returncode < 0:
            how = f"was killed by {signal.Signals(-returncode).name}"
        self.say(
            f"\n!!! {child.spec.name} (pid {child.process.pid}) {how}; {consequence}.\n"
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
