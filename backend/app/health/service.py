"""Readiness of the platform's parts: database, Redis, workers."""

from dataclasses import dataclass

import redis

from app.core.celery_app import celery_app
from app.core.config import settings
from app.core.db import ping_database


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
