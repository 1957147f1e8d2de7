"""Job bodies for the runtime's tests, loaded by the test worker (`-I tests.jobs.sample_tasks`)
and by the test process (to start jobs). Each execution is recorded in Redis, so tests can
count how many times a body really ran."""

import hashlib
import os
import time
from typing import Any

import redis

from app.core.celery_app import celery_app
from app.core.redis_client import redis_client as platform_redis_client
from app.jobs.runtime import (
    HandOff,
    JobContext,
    PermanentJobError,
    TransientJobError,
    tracked_task,
)

# Routed like a domain's task would be (core/celery_app.py's task_routes).
celery_app.conf.task_routes = {**celery_app.conf.task_routes, "tests.second": {"queue": "low"}}
celery_app.amqp.flush_routes()

_redis: "redis.Redis[bytes] | None" = None


def redis_client() -> "redis.Redis[bytes]":
    global _redis
    if _redis is None:
        _redis = platform_redis_client(timeout=10)  # REDIS_URL, behind Sentinel or not
    return _redis


def executions_key(job_id: object) -> str:
    return f"test:executions:{job_id}"


def record_execution(job: JobContext) -> None:
    redis_client().rpush(executions_key(job.job_id), f"{job.stage}:{job.attempt}:{os.getpid()}")


def _work(rounds: int) -> bytes:
    digest = b"seed"
    for _ in range(rounds):
        digest = hashlib.sha256(digest).digest()
    return digest


@tracked_task(job_type="maintenance", stage="test_noop", name="tests.noop")
def noop(job: JobContext) -> dict[str, Any]:
    record_execution(job)
    return {"ok": True}


@tracked_task(job_type="maintenance", stage="test_steps", name="tests.steps")
def steps(job: JobContext) -> dict[str, Any]:
    """`steps` steps of hashing, each reported; every step also tries to report a lower count,
    which must never show."""
    record_execution(job)
    total = int(job.config.get("steps", 100))
    rounds = int(job.config.get("rounds", 2000))
    pause = float(job.config.get("pause", 0.0))
    digest = b""
    for done in range(1, total + 1):
        digest = _work(rounds)
        if pause:
            time.sleep(pause)  # stands for waiting on I/O
        job.progress(pct=100 * done / total, current=done, total=total, message=f"step {done}")
        job.progress(current=max(0, done - 3))
        job.partial_result = {"steps_done": done}
    return {"steps": total, "digest": digest.hex()}


@tracked_task(job_type="maintenance", stage="test_flaky", name="tests.flaky")
def flaky(job: JobContext) -> dict[str, Any]:
    """Fails transiently on its first `failures` attempts."""
    record_execution(job)
    if job.attempt <= int(job.config.get("failures", 1)):
        retry_after = job.config.get("retry_after")
        raise TransientJobError(
            f"upstream unavailable (attempt {job.attempt})",
            retry_after=None if retry_after is None else float(retry_after),
        )
    return {"attempt": job.attempt}


@tracked_task(job_type="maintenance", stage="test_broken", name="tests.broken")
def broken(job: JobContext) -> dict[str, Any]:
    record_execution(job)
    raise PermanentJobError("the site URL answers 404", category="not_found")


@tracked_task(
    job_type="maintenance",
    stage="test_endless",
    name="tests.endless",
    soft_time_limit=1,
    time_limit=10,
)
def endless(job: JobContext) -> dict[str, Any]:
    """Works until the soft time limit stops it, keeping its partial result."""
    record_execution(job)
    done = 0
    while True:
        _work(500)
        done += 1
        job.partial_result = {"rounds_done": done}
        job.progress(current=done)


@tracked_task(job_type="maintenance", stage="test_first", name="tests.first")
def first_stage(job: JobContext) -> HandOff:
    record_execution(job)
    job.progress(pct=50, message="first stage done")
    return job.hand_off("test_second", message="waiting for the second stage")


@tracked_task(
    job_type="maintenance",
    stage="test_second",
    name="tests.second",
    retry_from="test_first",
)
def second_stage(job: JobContext) -> dict[str, Any]:
    record_execution(job)
    return {"stages": ["test_first", "test_second"]}


@tracked_task(job_type="maintenance", stage="test_silent", name="tests.silent")
def silent(job: JobContext) -> dict[str, Any]:
    """One long blocking call with no progress report (longer than the lease)."""
    record_execution(job)
    time.sleep(float(job.config.get("seconds", 1)))  # stands for a slow third-party call
    return {"slept": job.config.get("seconds", 1)}
