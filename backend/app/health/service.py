"""Readiness of the platform's parts: database, Redis, workers."""

from dataclasses import dataclass

from app.core.celery_app import celery_app
from app.core.db import ping_database
from app.core.redis_client import redis_client


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


def check_workers(timeout: float = 1.0) -> tuple[ComponentStatus, list[str]]:
    try:
        replies = celery_app.control.ping(timeout=timeout) or []
    except Exception as exc:
        return ComponentStatus(False, f"cannot reach workers: {type(exc).__name__}"), []
    names = sorted(name for reply in replies for name in reply)
    if not names:
        return ComponentStatus(False, "no worker answered the ping"), []
    return ComponentStatus(True, f"{len(names)} online"), names
