"""Fixtures for the runtime's tests: a real worker, and a log of every UPDATE of job_runs
(written by a database trigger) to check transitions and progress writes exactly."""

import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from app.core.db import engine, session_scope
from app.jobs import service
from app.jobs.models import JobRun, JobStatus
from tests.jobs import sample_tasks
from tests.workers import WorkerProcess, celery_worker

TERMINAL = {JobStatus.completed, JobStatus.failed, JobStatus.cancelled}


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerProcess]:
    with celery_worker(concurrency=2) as process:
        yield process


@pytest.fixture(autouse=True)
def _clean_redis_records() -> Iterator[None]:
    yield
    client = sample_tasks.redis_client()
    keys = list(client.scan_iter("test:*"))
    if keys:
        client.delete(*keys)


@dataclass(frozen=True)
class JobEvent:
    old_status: str
    new_status: str
    progress_current: int | None
    progress_pct: float
    attempts: int
    at: datetime


class JobEvents:
    def for_job(self, job_id: uuid.UUID) -> list[JobEvent]:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT old_status, new_status, progress_current, progress_pct, attempts, at "
                    "FROM test_job_events WHERE job_id = :id ORDER BY seq"
                ),
                {"id": job_id},
            ).all()
        return [JobEvent(*row) for row in rows]

    def leaving_terminal(self) -> list[Any]:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    sa.text(
                        "SELECT job_id, old_status, new_status FROM test_job_events "
                        "WHERE old_status IN ('completed', 'failed', 'cancelled')"
                    )
                ).all()
            )


@pytest.fixture
def job_events() -> Iterator[JobEvents]:
    ddl = [
        "DROP TABLE IF EXISTS test_job_events",
        "CREATE TABLE test_job_events (seq bigserial PRIMARY KEY, job_id uuid, "
        "old_status varchar, new_status varchar, progress_current bigint, "
        "progress_pct double precision, attempts int, at timestamptz DEFAULT clock_timestamp())",
        "CREATE OR REPLACE FUNCTION test_log_job_update() RETURNS trigger AS $$ BEGIN "
        "INSERT INTO test_job_events (job_id, old_status, new_status, progress_current, "
        "progress_pct, attempts) VALUES (NEW.id, OLD.status, NEW.status, "
        "NEW.progress_current, NEW.progress_pct, NEW.attempts); RETURN NEW; END $$ "
        "LANGUAGE plpgsql",
        "CREATE TRIGGER test_log_job_update AFTER UPDATE ON job_runs "
        "FOR EACH ROW EXECUTE FUNCTION test_log_job_update()",
    ]
    with engine.begin() as connection:
        for statement in ddl:
            connection.execute(sa.text(statement))
    yield JobEvents()
    with engine.begin() as connection:
        connection.execute(sa.text("DROP TRIGGER IF EXISTS test_log_job_update ON job_runs"))
        connection.execute(sa.text("DROP TABLE IF EXISTS test_job_events"))


def start(
    stage: str,
    *,
    config: dict[str, Any] | None = None,
    max_attempts: int | None = None,
    dedupe_key: str | None = None,
) -> JobRun:
    with session_scope() as session:
        job, _ = service.start_job(
            session=session,
            job_type="maintenance",
            stage=stage,
            project=None,
            user=None,
            config=config,
            max_attempts=max_attempts,
            dedupe_key=dedupe_key,
        )
    return job


def load(job_id: uuid.UUID) -> JobRun:
    with session_scope() as session:
        job = session.get(JobRun, job_id)
        assert job is not None
        return job


def wait_for(
    condition: Callable[[], bool], *, timeout: float, interval: float = 0.05, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or condition}")


def wait_terminal(job_id: uuid.UUID, *, timeout: float = 15) -> JobRun:
    wait_for(lambda: load(job_id).status in TERMINAL, timeout=timeout, what=f"job {job_id} end")
    return load(job_id)


def executions(job_id: uuid.UUID) -> list[str]:
    raw = sample_tasks.redis_client().lrange(sample_tasks.executions_key(job_id), 0, -1)
    return [item.decode() for item in raw]
