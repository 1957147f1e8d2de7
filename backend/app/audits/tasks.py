"""Celery shells of the audit job's stages, and the weekly fan-out. The work is in
service.py; the render stage runs on the `render` queue (routed in core/celery_app.py)."""

from typing import Any

from app.audits import service, stages
from app.core.celery_app import celery_app
from app.core.db import session_scope
from app.jobs import service as jobs_service
from app.jobs.models import JobType
from app.jobs.runtime import HandOff, JobContext, tracked_task
from app.maintenance.service import RetentionRule, register_retention_rule

register_retention_rule(RetentionRule("audit_runs", service.purge_old_audits))
jobs_service.register_job_rows(JobType.audit, service.record_audit_row)


@tracked_task(job_type=JobType.audit, stage="crawl", name="app.audits.tasks.crawl_site")
def crawl_site(job: JobContext) -> HandOff:
    return stages.crawl_stage(job)


@tracked_task(
    job_type=JobType.audit, stage="render", name="app.audits.tasks.render_pages", entry=False
)
def render_pages(job: JobContext) -> HandOff:
    return stages.render_stage(job)


@tracked_task(
    job_type=JobType.audit, stage="analyze", name="app.audits.tasks.analyze_site", entry=False
)
def analyze_site(job: JobContext) -> dict[str, Any]:
    return stages.analyze_stage(job)


@celery_app.task(name="app.audits.tasks.run_scheduled_audits", ignore_result=True)
def run_scheduled_audits() -> int:
    """Beat, Sundays 01:00 UTC: one audit per project with weekly audits, once per week."""
    with session_scope() as session:
        return len(service.run_scheduled_audits(session=session))
