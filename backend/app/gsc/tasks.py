"""Celery shells: the sync and backfill job bodies, and Beat's daily fan-out."""

import uuid
from typing import Any

from app.core.celery_app import celery_app
from app.core.db import session_scope
from app.gsc import service
from app.gsc.domain import GSC_BACKFILL_JOB, GSC_SYNC_JOB
from app.gsc.sync import Progress
from app.jobs.beat import SCHEDULED_START_RETRY
from app.jobs.errors import PermanentJobError
from app.jobs.runtime import JobContext, tracked_task


def _progress(job: JobContext) -> Progress:
    def report(done: int, total: int, message: str) -> None:
        job.progress(
            pct=100.0 * done / total if total else 100.0, current=done, total=total, message=message
        )

    return report


def _project_id(job: JobContext) -> uuid.UUID:
    if job.project_id is None:
        raise PermanentJobError("a Search Console job needs a project")
    return job.project_id


@tracked_task(job_type=GSC_SYNC_JOB, stage=service.SYNC_STAGE, name="app.gsc.tasks.sync_property")
def sync_property(job: JobContext) -> dict[str, Any]:
    with session_scope() as session:
        return service.run_sync(
            session=session,
            project_id=_project_id(job),
            config=job.config,
            progress=_progress(job),
            checkpoint=job.checkpoint,
        )


@tracked_task(
    job_type=GSC_BACKFILL_JOB,
    stage=service.BACKFILL_STAGE,
    name="app.gsc.tasks.backfill_property",
)
def backfill_property(job: JobContext) -> dict[str, Any]:
    with session_scope() as session:
        return service.run_backfill(
            session=session,
            project_id=_project_id(job),
            config=job.config,
            progress=_progress(job),
            checkpoint=job.checkpoint,
        )


@celery_app.task(
    name="app.gsc.tasks.sync_all_properties", ignore_result=True, **SCHEDULED_START_RETRY
)
def sync_all_properties() -> int:
    """Beat, 02:00 UTC: one sync per connected project per day."""
    with session_scope() as session:
        return len(service.sync_all_properties(session=session).started)
