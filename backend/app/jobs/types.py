"""The job types, as the dashboard offers them: each domain declares its own (domain.py:
label and entry tasks), and a type is startable once its domain's tasks are registered
(importing the domain's tasks module does that), so a new domain shows up without touching
the dashboard."""

from sqlmodel import SQLModel

from app.jobs.dispatch import registered_job_types
from app.jobs.models import JobType, declared_job_types


class JobTypePublic(SQLModel):
    job_type: JobType
    label: str
    startable: bool


class JobTypesPublic(SQLModel):
    data: list[JobTypePublic]
    count: int


def job_types() -> JobTypesPublic:
    """Every declared job type, in the order of DOMAINS, with whether it can run here."""
    runnable = registered_job_types()
    data = [
        JobTypePublic(job_type=name, label=spec.label, startable=name in runnable)
        for name, spec in declared_job_types().items()
    ]
    return JobTypesPublic(data=data, count=len(data))
