"""Real processes for the operational tests: the CLI's API and workers, run as children.

Every child gets its own process group (so stopping it stops what it forked), writes its
output to a file (no pipe to fill up), and every wait is bounded.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[3]
BACKEND = REPO_ROOT / "backend"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    log_path: Path

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def json_lines(self, *, terminal_notices: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """Every output line parsed as JSON; `terminal_notices` are line prefixes written
        straight to the terminal, around logging (Celery's shutdown notice)."""
        lines = [line for line in self.output().splitlines() if line.strip()]
        return [json.loads(line) for line in lines if not line.startswith(terminal_notices)]


def start(
    command: list[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path = BACKEND,
) -> Running:
    merged = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    handle = log_path.open("wb")
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=merged,
        stdin=subprocess.DEVNULL,
        stdout=handle,
        stderr=subprocess.STDOUT,
        process_group=0,
    )
    handle.close()
    return Running(process, log_path)


def stop(running: Running, *, sig: int = signal.SIGTERM, grace: float = 20) -> int:
    """Stop the child's whole process group: `sig`, then KILL after `grace` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(running.process.pid, sig)
    try:
        return running.process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(running.process.pid, signal.SIGKILL)
        return running.process.wait(timeout=10)


@contextlib.contextmanager
def running(
    command: list[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path = BACKEND,
) -> Iterator[Running]:
    child = start(command, log_path=log_path, env=env, cwd=cwd)
    try:
        yield child
    finally:
        stop(child)


@contextlib.contextmanager
def running_api(
    *, log_path: Path, env: Mapping[str, str] | None = None
) -> Iterator[tuple[str, Running]]:
    """The CLI's API on a free loopback port, once it answers: its base URL and the child."""
    port = free_port()
    command = cli("api", "--host", "127.0.0.1", "--port", str(port))
    with running(command, log_path=log_path, env=env) as api:
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/api/v1/health", status=200, timeout=60, child=api)
        yield base, api


def http_get(url: str, *, headers: Mapping[str, str] | None = None) -> tuple[int, bytes, Any]:
    request = urllib.request.Request(url, headers=dict(headers or {}))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers


def wait_for(
    check: Callable[[], bool],
    *,
    timeout: float,
    what: str,
    child: Running | None = None,
    interval: float = 0.3,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.process.poll() is not None:
            raise AssertionError(f"{what}: the process exited early:\n{child.output()[-4000:]}")
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(interval)
    tail = child.output()[-4000:] if child is not None else ""
    raise AssertionError(f"{what} not within {timeout:.0f}s\n{tail}")


def wait_for_http(url: str, *, status: int, timeout: float, child: Running | None = None) -> None:
    wait_for(
        lambda: http_get(url)[0] == status, timeout=timeout, what=f"{url} -> {status}", child=child
    )


def process_tree_alive(pids: list[int]) -> list[int]:
    """The pids among `pids` that still exist (zombies count as gone)."""
    alive = []
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        if state != "Z":
            alive.append(pid)
    return alive


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc; children of children included)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    frontier = [pid]
    while frontier:
        current = frontier.pop()
        for child in children.get(current, []):
            found.append(child)
            frontier.append(child)
    return found
