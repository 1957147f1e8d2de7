"""The job dependency: a job the current user may see, or 404 (like one that does not exist)."""

import uuid
from typing import Annotated

from fastapi import Depends, HTTPException, status

from app.api.deps import CurrentUser, SessionDep
from app.jobs import queries
from app.jobs.models import JobRun


def get_job(session: SessionDep, current_user: CurrentUser, job_id: uuid.UUID) -> JobRun:
    job = queries.get_job_for_user(session=session, job_id=job_id, user=current_user)
    if job is None:
        # A job of another user's project answers like one that does not exist.
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Job not found")
    return job


JobDep = Annotated[JobRun, Depends(get_job)]
