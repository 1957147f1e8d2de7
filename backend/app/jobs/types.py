"""The job types, as the dashboard offers them: a label for people and whether the type can
run yet. A type becomes startable when its domain registers a task for it (importing the
domain's tasks module does that), so a new domain shows up without touching the dashboard."""

from sqlmodel import SQLModel

from app.jobs.dispatch import registered_job_types
from app.jobs.models import JobType

LABELS: dict[JobType, str] = {
    JobType.audit: "Audit",
    JobType.gsc_sync: "Search Console sync",
    JobType.gsc_backfill: "Search Console backfill",
    JobType.serp_refresh: "SERP refresh",
    JobType.links_ingest: "Backlink import",
    JobType.ads_sync: "Google Ads sync",
    JobType.maintenance: "Maintenance",
}


class JobTypePublic(SQLModel):
    job_type: JobType
    label: str
    startable: bool


class JobTypesPublic(SQLModel):
    data: list[JobTypePublic]
    count: int


def job_types() -> JobTypesPublic:
    """Every job type, in the order of the enum, startable or not (jobs of a type that
    cannot run may still exist, and lists show them)."""
    runnable = registered_job_types()
    data = [
        JobTypePublic(
            job_type=job_type,
            label=LABELS.get(job_type, job_type.replace("_", " ").capitalize()),
            startable=job_type in runnable,
        )
        for job_type in JobType
    ]
    return JobTypesPublic(data=data, count=len(data))
