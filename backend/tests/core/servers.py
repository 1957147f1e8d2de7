"""Private PostgreSQL and Redis servers that a test (or the fault drill) may stop and start
at will: the shared servers other runs use are never touched.

Redis runs without persistence (`--save "" --appendonly no`), so a restart also loses every
queued message, the worst case the rescue sweep must cover. PostgreSQL is a cluster of its
own (the binaries of the `pgserver` wheel, like `seo-platform up`), restarted in fast mode.
"""

import contextlib
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from app.local.embedded import (
    EmbeddedPostgres,
    free_port,
    postgres_answers,
    redis_answers,
    wait_until,
)


@dataclass
class PrivateRedis:
    port: int = field(default_factory=free_port)
    binary: str = "redis-server"
    extra_args: tuple[str, ...] = ()
    process: "subprocess.Popen[bytes] | None" = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="private-redis-")))

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, *, timeout: float = 30) -> None:
        path = shutil.which(self.binary)
        if path is None:
            raise RuntimeError(f"{self.binary} is not installed (apt-get install redis-server)")
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                path,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
                *self.extra_args,
            ],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if not wait_until(lambda: redis_answers(self.url(), timeout=0.5), timeout=timeout):
            self.stop()
            raise RuntimeError(f"the private Redis did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is None:
            return
        process, self.process = self.process, None
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def restart(self, *, down_for: float = 0.0) -> None:
        self.stop()
        if down_for:
            time.sleep(down_for)  # the outage itself is what is being tested
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@contextlib.contextmanager
def private_redis(**options: object) -> Iterator[PrivateRedis]:
    server = PrivateRedis(**options)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.close()


@dataclass
class PrivatePostgres:
    data_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="private-pg-")))
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.cluster = EmbeddedPostgres(self.data_dir, self.port)

    def url(self, database: str = "postgres") -> str:
        return self.cluster.url(database)

    def start(self, *, timeout: float = 60) -> None:
        self.cluster.start_daemon(timeout=timeout)

    def stop(self) -> None:
        self.cluster.stop_daemon()

    def restart(self, *, down_for: float = 0.0) -> None:
        self.stop()
        if down_for:
            time.sleep(down_for)  # the outage itself is what is being tested
        self.start()

    def answers(self) -> bool:
        return postgres_answers(self.url(), timeout=1)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@contextlib.contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    server.start()
    try:
        yield server
    finally:
        server.close()
