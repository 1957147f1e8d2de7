"""Celery shells of the audit job's stages, and the weekly fan-out. The work is in
service.py; the render stage runs on the `render` queue (declared in domain.py)."""

from typing import Any

from app.audits import service, stages
from app.audits.domain import AUDIT_JOB
from app.core.celery_app import celery_app
from app.core.db import session_scope
from app.jobs import service as jobs_service
from app.jobs.beat import SCHEDULED_START_RETRY
from app.jobs.runtime import HandOff, JobContext, tracked_task

# Every audit job, however it starts (the route, a retry, Beat), gets its audit row in the
# job's own transaction.
jobs_service.register_job_rows(AUDIT_JOB, service.record_audit_row)


@tracked_task(job_type=AUDIT_JOB, stage="crawl", name="app.audits.tasks.crawl_site")
def crawl_site(job: JobContext) -> HandOff:
    return stages.crawl_stage(job)


@tracked_task(job_type=AUDIT_JOB, stage="render", name="app.audits.tasks.render_pages")
def render_pages(job: JobContext) -> HandOff:
    return stages.render_stage(job)


@tracked_task(job_type=AUDIT_JOB, stage="analyze", name="app.audits.tasks.analyze_site")
def analyze_site(job: JobContext) -> dict[str, Any]:
    return stages.analyze_stage(job)


@celery_app.task(
    name="app.audits.tasks.run_scheduled_audits", ignore_result=True, **SCHEDULED_START_RETRY
)
def run_scheduled_audits() -> int:
    """Beat, Sundays 01:00 UTC: one audit per project with weekly audits, once per week
    (retried through a database outage: the week's key keeps a retry from doubling)."""
    with session_scope() as session:
        return len(service.run_scheduled_audits(session=session))
