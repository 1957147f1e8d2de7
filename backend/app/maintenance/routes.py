"""Maintenance jobs operators start by hand: the retention clean-up, the health check and
the database optimization.

Under /jobs/maintenance, beside the other job routes (and their operation ids, `jobs-...`),
but owned here so that jobs/ never imports maintenance/.
"""

from typing import Any

from fastapi import APIRouter, status

from app.api.deps import SessionDep, SuperUser
from app.jobs.models import JobPublic
from app.maintenance import service

router = APIRouter(prefix="/jobs/maintenance", tags=["jobs"])

_SUPERUSERS_ONLY: dict[int | str, dict[str, Any]] = {
    403: {"description": "Superusers only"},
}


@router.post(
    "/cleanup",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_SUPERUSERS_ONLY,
)
def start_cleanup(session: SessionDep, superuser: SuperUser) -> JobPublic:
    """Starts the retention clean-up now (the running one is returned if there is one)."""
    job, _ = service.start_cleanup_job(session=session, user=superuser)
    return JobPublic.model_validate(job)


@router.post(
    "/health-check",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_SUPERUSERS_ONLY,
)
def start_health_check(session: SessionDep, superuser: SuperUser) -> JobPublic:
    """Starts a health check of the database and Redis, as a tracked job."""
    job, _ = service.start_health_check_job(session=session, user=superuser)
    return JobPublic.model_validate(job)


@router.post(
    "/optimize-db",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_SUPERUSERS_ONLY,
)
def start_optimize_db(session: SessionDep, superuser: SuperUser) -> JobPublic:
    """Starts a VACUUM (ANALYZE) of the large tables now, as a tracked job on the `low`
    queue (the active one is returned if there is one, whoever started it)."""
    job, _ = service.start_optimize_db_job(session=session, user=superuser)
    return JobPublic.model_validate(job)
