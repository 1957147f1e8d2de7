"""The jobs API: status (polled by every dashboard), lists, cancel, retry, stats.

Fixed paths (`/stats`, `/types`, `/project/...`, `/retry-failed`) are declared before
`/{job_id}` so they are never read as a job id.
"""

import uuid
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from sqlmodel import SQLModel

from app.api.deps import (
    CurrentCaller,
    CurrentUser,
    PageDep,
    ProjectDep,
    SessionDep,
    get_project,
)
from app.core.pagination import PageRequest
from app.jobs import queries, service
from app.jobs.deps import JobDep
from app.jobs.models import DeclaredJobType, JobPublic, JobRun, JobsPublic, JobStatus
from app.jobs.stats import JobStatsPublic, job_stats
from app.jobs.status import StatusOutcome, etag_matches, job_status_reader
from app.jobs.types import JobTypesPublic, job_types

router = APIRouter(prefix="/jobs", tags=["jobs"])

StatusFilter = Annotated[list[JobStatus] | None, Query(alias="status", max_length=6)]
TypeFilter = Annotated[list[DeclaredJobType] | None, Query(max_length=32)]

_JOB_NOT_FOUND = "Job not found"


class ConflictPublic(SQLModel):
    detail: str
    status: JobStatus


def _jobs_page(rows: list[JobRun], count: int) -> JobsPublic:
    return JobsPublic(data=[JobPublic.model_validate(job) for job in rows], count=count)


def _job_list(
    session: SessionDep,
    current_user: CurrentUser,
    project_id: uuid.UUID | None,
    status_: list[JobStatus] | None,
    job_type: list[str] | None,
    page: PageRequest,
) -> JobsPublic:
    """The one implementation of both job lists (the project is already authorized)."""
    found = queries.list_jobs(
        session=session,
        user=current_user,
        project_id=project_id,
        statuses=status_ or (),
        job_types=job_type or (),
        page=page,
    )
    return JobsPublic(data=[JobPublic.model_validate(job) for job in found.rows], **found.public())


@router.get("", response_model=JobsPublic)
def list_jobs(
    session: SessionDep,
    current_user: CurrentUser,
    page: PageDep,
    project_id: uuid.UUID | None = None,
    status_: StatusFilter = None,
    job_type: TypeFilter = None,
) -> JobsPublic:
    """Jobs the caller may see, newest first; a project filter must name a visible project.
    `count` is exact up to a bound, then a lower bound (`count_is_estimate`)."""
    if project_id is not None:
        get_project(session, current_user, project_id)
    return _job_list(session, current_user, project_id, status_, job_type, page)


@router.get("/project/{project_id}", response_model=JobsPublic)
def list_project_jobs(
    session: SessionDep,
    current_user: CurrentUser,
    project: ProjectDep,
    page: PageDep,
    status_: StatusFilter = None,
    job_type: TypeFilter = None,
) -> JobsPublic:
    """The project's jobs: the same list as `GET /jobs?project_id=`."""
    return _job_list(session, current_user, project.id, status_, job_type, page)


@router.get("/stats", response_model=JobStatsPublic)
def read_job_stats(
    session: SessionDep,
    current_user: CurrentUser,
    window_hours: Annotated[int, Query(ge=1, le=24 * 90)] = 24,
    project_id: uuid.UUID | None = None,
) -> JobStatsPublic:
    """Counts, success rate and durations over the window (the caller's jobs); queue depths
    and workers for the whole platform."""
    if project_id is not None:
        get_project(session, current_user, project_id)
    return job_stats(
        session=session,
        user=current_user,
        window=timedelta(hours=window_hours),
        project_id=project_id,
    )


@router.get("/types", response_model=JobTypesPublic)
def list_job_types(_: CurrentUser) -> JobTypesPublic:
    """Every job type with its label, and whether it can run yet (a task is registered for
    it): the dashboard's filters, labels and start buttons follow this list."""
    return job_types()


@router.get(
    "/{job_id}",
    response_model=JobPublic,
    responses={
        304: {"description": "Unchanged since the ETag given in If-None-Match"},
        404: {"description": "No such job, or not yours"},
    },
)
async def read_job(
    job_id: uuid.UUID,
    caller: CurrentCaller,
    if_none_match: Annotated[str | None, Header(max_length=2048)] = None,
) -> Response:
    """The job's status and progress, with an ETag; pollers send it back in If-None-Match
    and get an empty 304 while nothing changed."""
    found = await job_status_reader.read(job_id=job_id, caller=caller)
    if found.outcome is StatusOutcome.unknown_user:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="Could not validate credentials",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if found.outcome is StatusOutcome.inactive_user:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="This account is disabled")
    if found.outcome is StatusOutcome.not_found:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=_JOB_NOT_FOUND)
    # no-cache: browsers may keep the body but must revalidate, which is what polling wants.
    headers = {"ETag": found.etag, "Cache-Control": "private, no-cache"}
    if etag_matches(if_none_match, found.etag):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(found.body, media_type="application/json", headers=headers)


def _conflict(job: JobRun, detail: str) -> JSONResponse:
    return JSONResponse(
        status_code=status.HTTP_409_CONFLICT,
        content={"detail": detail, "status": str(job.status)},
    )


@router.post(
    "/retry-failed",
    response_model=JobsPublic,
    status_code=status.HTTP_202_ACCEPTED,
)
def retry_failed_jobs(
    session: SessionDep,
    current_user: CurrentUser,
    project_id: uuid.UUID | None = None,
    job_type: DeclaredJobType | None = None,
    limit: Annotated[int, Query(ge=1, le=service.BULK_RETRY_LIMIT)] = 100,
) -> JobsPublic:
    """Retries failed jobs not retried yet: of one project, or of every project the caller
    owns (superusers: all jobs, system ones included). Answers with the new jobs."""
    if project_id is not None:
        get_project(session, current_user, project_id)
    failed = queries.failed_jobs_to_retry(
        session=session, user=current_user, project_id=project_id, job_type=job_type, limit=limit
    )
    started = service.retry_failed_jobs(session=session, jobs=failed, user=current_user)
    return _jobs_page(started, len(started))


_CONFLICT_RESPONSE: dict[int | str, dict[str, Any]] = {
    409: {"model": ConflictPublic, "description": "The job's state does not allow it"},
    404: {"description": "No such job, or not yours"},
}


@router.post("/{job_id}/cancel", response_model=JobPublic, responses=_CONFLICT_RESPONSE)
def cancel_job(session: SessionDep, job: JobDep) -> object:
    """Queued or waiting to retry: cancelled at once. Running: a cancel is requested and the
    job stops at its next checkpoint (`cancel_requested_at` is set). Cancelled: unchanged.
    Completed or failed: 409 with the job's state."""
    result = service.cancel_job(session=session, job=job)
    if (
        result.outcome is service.CancelOutcome.already_finished
        and result.job.status != JobStatus.cancelled
    ):
        return _conflict(result.job, f"Job already {result.job.status}; nothing to cancel")
    return JobPublic.model_validate(result.job)


@router.post(
    "/{job_id}/retry",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_CONFLICT_RESPONSE,
)
def retry_job(session: SessionDep, current_user: CurrentUser, job: JobDep) -> object:
    """A failed or cancelled job runs again as a new job (linked by `retry_of`); an active
    job doing the same work is returned instead of a second one."""
    try:
        new_job, _ = service.retry_job(session=session, job=job, user=current_user)
    except service.JobNotRetryableError:
        return _conflict(job, f"Job is {job.status}; only failed or cancelled jobs can be retried")
    return JobPublic.model_validate(new_job)
