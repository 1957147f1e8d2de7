"""Starting, cancelling and retrying jobs against the real database (no worker needed: the
published messages just wait in the test Redis)."""

import os
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy import event
from sqlmodel import Session, select

from app.core.db import engine
from app.jobs import service
from app.jobs.models import JobRun, JobStatus
from tests.builders import create_project, create_user
from tests.jobs.conftest import load, start
from tests.jobs.messages import published_job_ids


def _set_status(job_id: uuid.UUID, status: JobStatus) -> None:
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE job_runs SET status = :status WHERE id = :id"),
            {"status": status, "id": job_id},
        )


def _job_exists(job_id: uuid.UUID) -> bool:
    with engine.connect() as connection:
        found = connection.execute(sa.text("SELECT 1 FROM job_runs WHERE id = :id"), {"id": job_id})
        return found.first() is not None


def _record(session: Session, dedupe_key: str | None = None) -> tuple[JobRun, bool]:
    return service.record_job(
        session=session,
        job_type="maintenance",
        stage="test_noop",
        project=None,
        user=None,
        dedupe_key=dedupe_key,
    )


def test_a_recorded_job_is_published_when_its_transaction_commits(
    session: Session, redis_client: "redis.Redis[bytes]"
) -> None:
    job, created = _record(session)

    assert created
    assert session.in_transaction()  # the caller's transaction, still open
    assert not _job_exists(job.id)
    assert published_job_ids(redis_client) == []

    session.commit()

    assert _job_exists(job.id)
    assert published_job_ids(redis_client) == [str(job.id)]
    session.commit()  # a later commit publishes nothing more
    assert published_job_ids(redis_client) == [str(job.id)]


def test_a_job_whose_transaction_rolls_back_is_never_published(
    session: Session, redis_client: "redis.Redis[bytes]"
) -> None:
    rolled_back, _ = _record(session)
    session.rollback()
    with Session(engine) as other:
        closed, _ = _record(other)
    # The same sessions commit other work later: nothing of the above goes out.
    session.execute(sa.text("SELECT 1"))
    session.commit()

    assert not _job_exists(rolled_back.id)
    assert not _job_exists(closed.id)
    assert published_job_ids(redis_client) == []


def test_record_job_returns_the_active_job_and_publishes_nothing_for_it(
    session: Session, redis_client: "redis.Redis[bytes]"
) -> None:
    first = start("test_noop", dedupe_key="one-at-a-time")

    again, created = _record(session, dedupe_key="one-at-a-time")
    session.commit()

    assert not created
    assert again.id == first.id
    assert again.status == JobStatus.queued  # loaded, usable after the commit
    assert published_job_ids(redis_client) == [str(first.id)]


def test_fifty_parallel_starts_of_the_same_job_make_exactly_one() -> None:
    barrier = threading.Barrier(50)
    results: list[tuple[uuid.UUID, bool]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def start_once() -> None:
        try:
            barrier.wait(timeout=10)
            with Session(engine) as session:
                job, created = service.start_job(
                    session=session,
                    job_type="maintenance",
                    stage="test_noop",
                    project=None,
                    user=None,
                    dedupe_key="maintenance:the-same-target",
                )
            with lock:
                results.append((job.id, created))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start_once) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(results) == 50
    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with Session(engine) as session:
        assert len(session.exec(select(JobRun)).all()) == 1


def test_a_finished_job_frees_its_dedupe_key() -> None:
    first = start("test_noop", dedupe_key="k")
    assert start("test_noop", dedupe_key="k").id == first.id
    _set_status(first.id, JobStatus.completed)

    second = start("test_noop", dedupe_key="k")

    assert second.id != first.id
    assert second.status == JobStatus.queued


def test_start_job_records_who_what_and_where(session: Session) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)

    job, created = service.start_job(
        session=session,
        job_type="maintenance",
        stage="test_steps",
        project=project,
        user=owner,
        config={"steps": 3},
    )

    assert created
    stored = load(job.id)
    assert (stored.project_id, stored.user_id) == (project.id, owner.id)
    assert (stored.status, stored.stage, stored.queue) == (
        JobStatus.queued,
        "test_steps",
        "default",
    )
    assert stored.config_json == {"steps": 3}
    assert stored.attempts == 0
    assert stored.max_attempts == 4
    assert stored.queued_at.tzinfo is not None
    assert job.stage == "test_steps"  # the returned job is usable after the commit


def test_unknown_stage_is_refused_before_anything_is_written(session: Session) -> None:
    with pytest.raises(LookupError):
        service.start_job(session=session, job_type="audit", stage="nope", project=None, user=None)
    assert session.exec(select(JobRun)).all() == []


def test_cancel_moves_each_state_the_right_way(session: Session) -> None:
    queued = start("test_noop")
    retrying = start("test_noop")
    running = start("test_noop")
    finished = start("test_noop")
    _set_status(retrying.id, JobStatus.retrying)
    _set_status(running.id, JobStatus.running)
    _set_status(finished.id, JobStatus.completed)

    outcomes = {
        name: service.cancel_job(session=session, job=load(job.id))
        for name, job in [
            ("queued", queued),
            ("retrying", retrying),
            ("running", running),
            ("finished", finished),
        ]
    }

    assert outcomes["queued"].outcome is service.CancelOutcome.cancelled
    assert outcomes["queued"].job.status == JobStatus.cancelled
    assert outcomes["queued"].job.finished_at is not None
    assert outcomes["retrying"].outcome is service.CancelOutcome.cancelled
    assert outcomes["running"].outcome is service.CancelOutcome.requested
    assert outcomes["running"].job.status == JobStatus.running
    assert outcomes["running"].job.cancel_requested_at is not None
    assert outcomes["finished"].outcome is service.CancelOutcome.already_finished
    assert outcomes["finished"].job.status == JobStatus.completed
    # idempotent
    again = service.cancel_job(session=session, job=load(running.id))
    assert again.outcome is service.CancelOutcome.requested
    assert again.job.cancel_requested_at == outcomes["running"].job.cancel_requested_at


def test_retry_makes_a_new_linked_job_only_for_failed_or_cancelled(session: Session) -> None:
    user = create_user(session)
    failed = start("test_flaky", config={"failures": 1}, max_attempts=2, dedupe_key="flaky")
    _set_status(failed.id, JobStatus.failed)

    retried, created = service.retry_job(session=session, job=load(failed.id), user=user)

    assert created
    assert retried.id != failed.id
    assert retried.retry_of == failed.id
    assert (retried.config_json, retried.max_attempts) == ({"failures": 1}, 2)
    assert retried.user_id == user.id
    assert retried.status == JobStatus.queued
    with pytest.raises(service.JobNotRetryableError):
        service.retry_job(session=session, job=load(retried.id), user=user)


def test_retry_of_a_handed_off_job_starts_where_its_stage_says(session: Session) -> None:
    job = start("test_first")
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE job_runs SET status = 'failed', stage = 'test_second' WHERE id = :id"),
            {"id": job.id},
        )

    retried, _ = service.retry_job(session=session, job=load(job.id), user=None)

    assert retried.stage == "test_first"


def test_bulk_retry_retries_failed_jobs_only(session: Session) -> None:
    failed = [start("test_noop") for _ in range(3)]
    cancelled = start("test_noop")
    for job in failed:
        _set_status(job.id, JobStatus.failed)
    _set_status(cancelled.id, JobStatus.cancelled)

    jobs = [load(job.id) for job in [*failed, cancelled]]
    started = service.retry_failed_jobs(session=session, jobs=jobs, user=None)

    assert sorted(str(job.retry_of) for job in started) == sorted(str(job.id) for job in failed)


def test_day_dedupe_keys_are_per_type_target_and_day() -> None:
    key = service.day_dedupe_key("audit", "project-1", date(2026, 11, 22))
    assert key == "audit:project-1:2026-11-22"
    assert key != service.day_dedupe_key("audit", "project-1", date(2026, 11, 23))
    assert key != service.day_dedupe_key("gsc_sync", "project-1", date(2026, 11, 22))


def test_a_scheduled_job_runs_once_per_key_even_after_it_finished() -> None:
    key = service.day_dedupe_key("maintenance", "target", date(2026, 11, 22))

    def start_scheduled() -> tuple[JobRun, bool]:
        with Session(engine) as session:
            return service.start_job(
                session=session,
                job_type="maintenance",
                stage="test_noop",
                project=None,
                user=None,
                dedupe_key=key,
                once=True,
            )

    first, created = start_scheduled()
    _set_status(first.id, JobStatus.completed)
    again, created_again = start_scheduled()

    assert created
    assert not created_again
    assert again.id == first.id


_FIRST_LOOKUPS = """
import threading
from app.jobs.dispatch import stage_task

barrier, missed = threading.Barrier(16), []

def look() -> None:
    barrier.wait()
    try:
        stage_task("audit", "crawl")
    except LookupError as exc:
        missed.append(exc)

threads = [threading.Thread(target=look) for _ in range(16)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("missed", len(missed))
"""


def test_concurrent_first_starts_in_a_fresh_process_all_find_their_stage() -> None:
    # The task modules are imported on first use; the threads that come meanwhile wait.
    backend = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        [sys.executable, "-c", _FIRST_LOOKUPS],
        env={**os.environ, "PYTHONPATH": str(backend)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split()[-2:] == ["missed", "0"]


def _frontend_messages(start: Callable[[Session], object]) -> list[str]:
    """The protocol messages the client sent to PostgreSQL while `start` ran (libpq's trace)."""
    traced: list[Any] = []

    def trace(dbapi_connection: Any, *_: object) -> None:
        dbapi_connection.pgconn.trace(trace_file.fileno())
        traced.append(dbapi_connection)

    with tempfile.TemporaryFile("w+") as trace_file:
        event.listen(engine, "checkout", trace)
        try:
            with Session(engine) as session:
                start(session)
        finally:
            event.remove(engine, "checkout", trace)
            for connection in traced:
                connection.pgconn.untrace()
        trace_file.seek(0)
        lines = trace_file.read().splitlines()
    # "<time>\tF\t<length>\t<message> ..." for what the client sent.
    return [line.split("\t")[3] for line in lines if line.split("\t")[1:2] == ["F"]]


def test_start_job_on_a_fresh_session_is_one_statement_without_begin_or_commit() -> None:
    def start_one(session: Session) -> object:
        return service.start_job(
            session=session,
            job_type="maintenance",
            stage="test_noop",
            project=None,
            user=None,
        )

    sent = _frontend_messages(start_one)

    queries = [message for message in sent if message in ("Query", "Parse")]
    assert len(queries) == 1, sent  # the INSERT, committed by itself
