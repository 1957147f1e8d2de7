"""Maintenance tasks: Beat entry points (which only start jobs) and the tracked job bodies."""

from typing import Any

from app.core.celery_app import celery_app
from app.core.db import session_scope
from app.jobs.beat import SCHEDULED_START_RETRY
from app.jobs.errors import PermanentJobError
from app.jobs.runtime import JobContext, tracked_task
from app.maintenance import service
from app.maintenance.domain import MAINTENANCE_JOB


@celery_app.task(
    name="app.maintenance.tasks.cleanup_old_data", ignore_result=True, **SCHEDULED_START_RETRY
)
def cleanup_old_data() -> str:
    """Beat: start today's clean-up job (a second Beat firing, or a retry after a database
    outage, finds it and does nothing)."""
    with session_scope() as session:
        job, _ = service.start_cleanup_job(session=session, user=None, scheduled=True)
    return str(job.id)


@celery_app.task(
    name="app.maintenance.tasks.health_check", ignore_result=True, **SCHEDULED_START_RETRY
)
def health_check() -> str:
    with session_scope() as session:
        job, _ = service.start_health_check_job(session=session, user=None)
    return str(job.id)


@tracked_task(
    job_type=MAINTENANCE_JOB,
    stage=service.CLEANUP_STAGE,
    name="app.maintenance.tasks.run_cleanup",
)
def run_cleanup(job: JobContext) -> dict[str, Any]:
    def report(done: int, total: int, message: str) -> None:
        job.progress(pct=100 * done / total, current=done, total=total, message=message)

    with session_scope() as session:
        deleted = service.cleanup_old_data(session=session, on_progress=report)
    return {"deleted": deleted}


@tracked_task(
    job_type=MAINTENANCE_JOB,
    stage=service.HEALTH_CHECK_STAGE,
    name="app.maintenance.tasks.run_health_check",
)
def run_health_check(job: JobContext) -> dict[str, Any]:
    result = service.health_check()
    if not result["ok"]:
        failing = [name for name in ("database", "redis") if not result[name]["ok"]]
        job.partial_result = result
        raise PermanentJobError(f"unhealthy: {', '.join(failing)}", category="unhealthy")
    return result
