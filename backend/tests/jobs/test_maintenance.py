"""Maintenance jobs (retention clean-up, health check) run by a real worker."""

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, select

from app.core.config import settings
from app.core.db import engine, session_scope, utcnow
from app.jobs.models import JobRun, JobStatus, JobType
from app.maintenance import service
from app.maintenance.tasks import cleanup_old_data
from tests.jobs.conftest import wait_terminal
from tests.workers import WorkerProcess


def _finished_job(status: JobStatus, days_ago: float) -> JobRun:
    finished_at = utcnow() - timedelta(days=days_ago)
    with session_scope() as session:
        job = JobRun(
            job_type=JobType.maintenance,
            stage="test_noop",
            status=status,
            queued_at=finished_at,
            finished_at=finished_at,
        )
        session.add(job)
        session.commit()
        return job


def test_cleanup_deletes_what_is_past_retention_and_keeps_the_rest(
    worker: WorkerProcess,
) -> None:
    keep_days, failed_days = settings.JOB_RETENTION_DAYS, settings.FAILED_JOB_RETENTION_DAYS
    expired = [
        _finished_job(JobStatus.completed, keep_days + 1),
        _finished_job(JobStatus.cancelled, keep_days + 1),
        _finished_job(JobStatus.failed, failed_days + 1),
    ]
    kept = [
        _finished_job(JobStatus.completed, keep_days - 1),
        _finished_job(JobStatus.failed, keep_days + 1),  # failures are kept longer
    ]

    with session_scope() as session:
        job, created = service.start_cleanup_job(session=session, user=None)
    done = wait_terminal(job.id, timeout=20)

    assert created
    assert done.status == JobStatus.completed, done.error_message
    assert done.result_json is not None
    assert done.result_json["deleted"]["job_runs"] == 3
    with Session(engine) as session:
        remaining = {row.id for row in session.exec(select(JobRun))}
    assert not remaining & {job.id for job in expired}
    assert {job.id for job in kept} <= remaining


def test_cleanup_deletes_in_batches_reporting_progress() -> None:
    for _ in range(7):
        _finished_job(JobStatus.completed, settings.JOB_RETENTION_DAYS + 2)
    reports: list[tuple[int, int, str]] = []

    with session_scope() as session:
        deleted = service.cleanup_old_data(
            session=session, batch=3, on_progress=lambda *report: reports.append(report)
        )

    assert deleted["job_runs"] == 7
    assert [message for *_, message in reports][:3] == [
        "job_runs: 3 deleted",
        "job_runs: 6 deleted",
        "job_runs: 7 deleted",
    ]


def test_scheduled_cleanup_runs_once_a_day_however_often_beat_fires() -> None:
    first = cleanup_old_data()
    second = cleanup_old_data()

    assert first == second
    with engine.connect() as connection:
        keys = connection.execute(sa.text("SELECT dedupe_key FROM job_runs")).scalars().all()
    assert keys == [f"maintenance:cleanup:{utcnow().date().isoformat()}"]


def test_health_check_job_reports_database_and_redis(worker: WorkerProcess) -> None:
    with session_scope() as session:
        job, _ = service.start_health_check_job(session=session, user=None)

    done = wait_terminal(job.id, timeout=20)

    assert done.status == JobStatus.completed, done.error_message
    assert done.result_json is not None
    assert done.result_json["ok"] is True
    assert done.result_json["database"] == {"ok": True, "detail": "ok"}
    assert done.result_json["redis"] == {"ok": True, "detail": "ok"}
