"""Readiness of the platform's parts: database, Redis, workers.

The worker ping is done here once for everyone who asks (readiness, job stats, /metrics):
a broadcast ping always waits its full timeout, so its answer is shared and kept briefly.
"""

import asyncio
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from fastapi.concurrency import run_in_threadpool

from app.core.celery_app import celery_app
from app.core.db import ping_database, utcnow
from app.core.logging import get_logger
from app.core.redis_client import redis_client

log = get_logger(__name__)

WORKER_PING_TIMEOUT_SECONDS = 1.0
# How long an answer is reused. Nobody answering is asked again sooner, so readiness
# turns ok soon after the first worker starts.
WORKER_PING_CACHE_SECONDS = 10.0
NO_WORKER_CACHE_SECONDS = 1.0


@dataclass(frozen=True)
class ComponentStatus:
    ok: bool
    detail: str


def check_database() -> ComponentStatus:
    try:
        ping_database()
    except Exception as exc:
        return ComponentStatus(False, f"database unreachable: {type(exc).__name__}")
    return ComponentStatus(True, "ok")


def check_redis() -> ComponentStatus:
    try:
        client = redis_client(timeout=2)
        client.ping()
        client.close()
    except Exception as exc:
        return ComponentStatus(False, f"redis unreachable: {type(exc).__name__}")
    return ComponentStatus(True, "ok")


@dataclass(frozen=True, slots=True)
class WorkerPing:
    names: list[str]  # the workers that answered, sorted
    checked_at: datetime | None
    error: str | None = None  # why the ping could not be sent


_NOT_PINGED = WorkerPing(names=[], checked_at=None)
_ping = _NOT_PINGED
_ping_expires = 0.0
_ping_lock = threading.Lock()


def ping_workers() -> WorkerPing:
    """The workers answering a broadcast ping, as of at most WORKER_PING_CACHE_SECONDS ago."""
    global _ping, _ping_expires
    with _ping_lock:
        if time.monotonic() < _ping_expires:
            return _ping
        try:
            replies = celery_app.control.ping(timeout=WORKER_PING_TIMEOUT_SECONDS) or []
            _ping = WorkerPing(
                names=sorted(name for reply in replies for name in reply), checked_at=utcnow()
            )
        except Exception as exc:  # broker down: nobody online, the callers carry on
            log.warning("worker_ping_failed", error=f"{type(exc).__name__}: {exc}")
            _ping = WorkerPing(names=[], checked_at=utcnow(), error=type(exc).__name__)
        keep = WORKER_PING_CACHE_SECONDS if _ping.names else NO_WORKER_CACHE_SECONDS
        _ping_expires = time.monotonic() + keep
        return _ping


def forget_worker_ping() -> None:
    """Drop the kept answer (tests that start or stop workers)."""
    global _ping_expires
    with _ping_lock:
        _ping_expires = 0.0


def check_workers() -> tuple[ComponentStatus, list[str]]:
    ping = ping_workers()
    if ping.error is not None:
        return ComponentStatus(False, f"cannot reach workers: {ping.error}"), []
    if not ping.names:
        return ComponentStatus(False, "no worker answered the ping"), []
    return ComponentStatus(True, f"{len(ping.names)} online"), ping.names


@dataclass(frozen=True)
class Readiness:
    database: ComponentStatus
    redis: ComponentStatus
    workers: ComponentStatus
    worker_names: list[str]
    checked_at: datetime

    @property
    def ready(self) -> bool:
        return self.database.ok and self.redis.ok and self.workers.ok


def check_readiness() -> Readiness:
    database = check_database()
    redis_status = check_redis()
    if redis_status.ok:
        workers, names = check_workers()
    else:
        workers, names = ComponentStatus(False, "redis is down"), []
    return Readiness(database, redis_status, workers, names, utcnow())


class ReadinessCache:
    """The last readiness check, reused for `ttl` seconds. However many callers ask at once,
    one of them runs the check (a worker ping waits its full timeout) and the others wait for
    its answer on the event loop, holding no thread. Opened with the application."""

    def __init__(self, ttl: float) -> None:
        self._ttl = ttl
        self._lock = asyncio.Lock()
        self._last: Readiness | None = None
        self._expires = 0.0

    async def get(self) -> Readiness:
        if self._last is not None and time.monotonic() < self._expires:
            return self._last
        async with self._lock:
            # Whoever held the lock before may have just refreshed it.
            if self._last is not None and time.monotonic() < self._expires:
                return self._last
            self._last = await run_in_threadpool(check_readiness)
            self._expires = time.monotonic() + self._ttl
            return self._last
