"""Readiness of the platform's parts: database, Redis, workers."""

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

import redis
from fastapi.concurrency import run_in_threadpool

from app.core.celery_app import celery_app
from app.core.config import settings
from app.core.db import ping_database, utcnow


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
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
        )
        client.ping()
        client.close()
    except Exception as exc:
        return ComponentStatus(False, f"redis unreachable: {type(exc).__name__}")
    return ComponentStatus(True, "ok")


def check_workers(timeout: float = 1.0) -> tuple[ComponentStatus, list[str]]:
    try:
        replies = celery_app.control.ping(timeout=timeout) or []
    except Exception as exc:
        return ComponentStatus(False, f"cannot reach workers: {type(exc).__name__}"), []
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return ComponentStatus(False, "no worker answered the ping"), []
    return ComponentStatus(True, f"{len(names)} online"), names


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
