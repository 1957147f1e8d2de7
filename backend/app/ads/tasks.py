"""Celery shells of the Google Ads sync: the tracked job body and the daily Beat fan-out.
The work is in service.py."""

from typing import Any

from app.ads import service
from app.ads.domain import ADS_SYNC_JOB
from app.core.celery_app import celery_app
from app.core.db import session_scope
from app.jobs.beat import SCHEDULED_START_RETRY
from app.jobs.runtime import JobContext, tracked_task


@tracked_task(job_type=ADS_SYNC_JOB, stage=service.SYNC_STAGE, name="app.ads.tasks.sync_account")
def sync_account(job: JobContext) -> dict[str, Any]:
    assert job.project_id is not None, "an Ads sync belongs to a project"
    days = job.config.get("days")
    with session_scope() as session:
        return service.sync_account(
            session=session,
            project_id=job.project_id,
            days=int(days) if days else None,
            reporter=service.SyncReporter(progress=job.progress, checkpoint=job.checkpoint),
        )


@celery_app.task(
    name="app.ads.tasks.sync_all_accounts", ignore_result=True, **SCHEDULED_START_RETRY
)
def sync_all_accounts() -> dict[str, Any]:
    """Beat, 04:00 UTC: one sync per connected project, once per project per UTC day (a
    second Beat, or a retry through a database outage, starts nothing more)."""
    with session_scope() as session:
        result = service.start_scheduled_syncs(session=session)
    return {"started": len(result.started), "already": result.already, "failed": len(result.failed)}
