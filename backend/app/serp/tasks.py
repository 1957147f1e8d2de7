"""Celery shells: the refresh job's body and Beat's daily fan-out."""

from typing import Any

from app.core.celery_app import celery_app
from app.core.db import session_scope
from app.jobs.beat import SCHEDULED_START_RETRY
from app.jobs.errors import PermanentJobError
from app.jobs.runtime import JobContext, tracked_task
from app.serp import refresh, service
from app.serp.domain import SERP_REFRESH_JOB


@tracked_task(
    job_type=SERP_REFRESH_JOB, stage=service.REFRESH_STAGE, name="app.serp.tasks.refresh_keywords"
)
def refresh_keywords(job: JobContext) -> dict[str, Any]:
    if job.project_id is None:
        raise PermanentJobError("a rank refresh needs a project")

    def report(checked: int, total: int, message: str) -> None:
        pct = 100.0 * checked / total if total else 100.0
        job.progress(pct=pct, current=checked, total=total, message=message)

    with session_scope() as session:
        return refresh.run_refresh(
            session=session,
            project_id=job.project_id,
            config=job.config,
            progress=report,
            checkpoint=job.checkpoint,
            job_id=job.job_id,
        )


@celery_app.task(
    name="app.serp.tasks.refresh_all_due_keywords", ignore_result=True, **SCHEDULED_START_RETRY
)
def refresh_all_due_keywords() -> int:
    """Beat, 03:00 UTC: one rank refresh per connected project per UTC day."""
    with session_scope() as session:
        return len(service.refresh_all_due_keywords(session=session).started)
