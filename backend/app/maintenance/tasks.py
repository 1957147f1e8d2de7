"""Maintenance tasks: Beat entry points (which only start jobs) and the tracked job bodies."""

import time
from collections import Counter
from typing import Any

from app.core.celery_app import celery_app
from app.core.config import settings
from app.core.db import session_scope
from app.jobs.beat import SCHEDULED_START_RETRY
from app.jobs.errors import PermanentJobError
from app.jobs.runtime import JobContext, tracked_task
from app.maintenance import optimize, service
from app.maintenance.domain import MAINTENANCE_JOB, OPTIMIZE_DB_JOB

# Room left between the optimization's last table and the soft time limit, to record it
# (a tenth of the limit when that is shorter: test set-ups run with limits of seconds).
OPTIMIZE_DB_MARGIN_SECONDS = 60.0


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


@celery_app.task(
    name="app.maintenance.tasks.optimize_db", ignore_result=True, **SCHEDULED_START_RETRY
)
def optimize_db() -> str:
    """Beat, Sundays: start this week's database optimization (or find it started)."""
    with session_scope() as session:
        job, _ = service.start_optimize_db_job(session=session, user=None, scheduled=True)
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


@tracked_task(
    job_type=OPTIMIZE_DB_JOB,
    stage=service.OPTIMIZE_DB_STAGE,
    name="app.maintenance.tasks.run_optimize_db",
)
def run_optimize_db(job: JobContext) -> dict[str, Any]:
    limit = settings.TASK_SOFT_TIME_LIMIT
    deadline = time.monotonic() + limit - min(OPTIMIZE_DB_MARGIN_SECONDS, limit / 10)
    tables = job.config.get("tables") or optimize.declared_large_tables()
    done: list[dict[str, Any]] = []

    def record(result: optimize.TableResult) -> None:
        done.append(result.as_dict())
        job.partial_result = {"tables": done}  # what a cancel or the time limit keeps

    def report(finished: int, total: int, message: str) -> None:
        # Also the checkpoint between tables: a pending cancel raises here.
        job.progress(pct=100 * finished / total, current=finished, total=total, message=message)

    results = optimize.optimize_tables(
        tables=tables, on_progress=report, on_table_done=record, deadline=deadline
    )
    outcomes = Counter(result.outcome.value for result in results)
    summary = ", ".join(
        f"{count} {outcome.replace('_', ' ')}" for outcome, count in outcomes.items()
    )
    job.progress(message=f"{len(results)} tables: {summary}")
    return {"tables": done, "outcomes": dict(outcomes)}
