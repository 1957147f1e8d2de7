"""Job rows written straight to the database, for tests of what the API shows (the runtime
that moves real jobs through these states has its own tests)."""

from datetime import timedelta
from typing import Any

from sqlmodel import Session

from app.core.db import utcnow
from app.jobs.models import JobRun, JobStatus
from app.projects.models import Project
from app.users.models import User


def insert_job(
    session: Session,
    *,
    project: Project | None,
    user: User | None = None,
    job_type: str = "audit",
    status: JobStatus = JobStatus.queued,
    age: timedelta = timedelta(0),
    run_time: timedelta | None = None,
    stage: str | None = None,
    **fields: Any,
) -> JobRun:
    """A job queued `age` ago; finished ones ran for `run_time` after a 10 ms pickup."""
    queued_at = utcnow() - age
    job = JobRun(
        job_type=job_type,
        project_id=project.id if project else None,
        user_id=user.id if user else (project.owner_id if project else None),
        status=status,
        stage=stage or ("crawl" if job_type == "audit" else "run"),
        queued_at=queued_at,
        updated_at=queued_at,
        max_attempts=4,
        **fields,
    )
    if status is not JobStatus.queued:
        job.started_at = queued_at + timedelta(milliseconds=10)
        job.attempts = max(job.attempts, 1)
    if status in (JobStatus.completed, JobStatus.failed, JobStatus.cancelled):
        job.finished_at = job.started_at + (run_time or timedelta(seconds=1))  # type: ignore[operator]
    session.add(job)
    session.commit()
    session.refresh(job)
    return job
