"""Shared set-up of the job benchmarks: a private Redis (so INFO commandstats counts only
this run), a dedicated PostgreSQL database, and real Celery workers as subprocesses.

Import this module before anything from `app`: settings are read at import.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BACKEND_DIR = Path(__file__).resolve().parents[1]
BENCH_DATABASE_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/seo_platform_bench_jobs"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


REDIS_PORT = _free_port()
REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"
os.environ.update(
    {
        "DATABASE_URL": BENCH_DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "ENVIRONMENT": "local",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(BACKEND_DIR),
    }
)

import redis  # noqa: E402


@contextmanager
def private_redis() -> Iterator[redis.Redis]:  # type: ignore[type-arg]
    server = shutil.which("redis-server")
    if server is None:
        raise SystemExit("redis-server is needed (apt-get install redis-server)")
    workdir = tempfile.mkdtemp(prefix="bench-redis-")
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(REDIS_PORT),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield client
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def prepare_database() -> None:
    """A fresh, migrated benchmark database."""
    import psycopg
    from psycopg import sql
    from sqlalchemy.engine import make_url

    from app.core.migrations import upgrade_to_head

    url = make_url(BENCH_DATABASE_URL)
    admin = url.set(drivername="postgresql", database="postgres")
    with psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(url.database)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(url.database)))
    upgrade_to_head(BENCH_DATABASE_URL)


def redis_commands(client: redis.Redis) -> int:  # type: ignore[type-arg]
    stats = client.info("commandstats")
    return sum(int(value["calls"]) for value in stats.values())


class Worker:
    def __init__(self, process: "subprocess.Popen[bytes]", nodename: str) -> None:
        self.process = process
        self.nodename = nodename

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # warm shutdown: the main process stops its children
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@contextmanager
def celery_worker(
    *,
    concurrency: int = 2,
    include: str = "bench.job_tasks",
    queues: str = "default",
    nice: int = 0,
    env: dict[str, str] | None = None,
) -> Iterator[Worker]:
    """prefork, prefetch 1 and acks_late come from app.core.celery_app, as in production.
    `env` adds variables (e.g. PGAPPNAME, which names the worker's database sessions)."""
    from app.core.celery_app import celery_app

    nodename = f"bench-{os.getpid()}-{time.monotonic_ns()}@localhost"
    process = subprocess.Popen(
        [
            *(["nice", "-n", str(nice)] if nice else []),
            sys.executable,
            "-m",
            "celery",
            "-A",
            "app.core.celery_app",
            "worker",
            "-P",
            "prefork",
            "-c",
            str(concurrency),
            "-Q",
            queues,
            "-n",
            nodename,
            "-I",
            include,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "WARNING",
        ],
        cwd=BACKEND_DIR,
        env={**os.environ, **(env or {})},
        start_new_session=True,
    )
    worker = Worker(process, nodename)
    try:
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[nodename], timeout=0.5):
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the benchmark worker did not start")
        yield worker
    finally:
        worker.stop()
