"""Reading jobs for people: visibility by project ownership, filtered newest-first lists.

A job is visible to the owner of its project and to superusers. A job without a project
(maintenance, platform-wide syncs) is visible to superusers only, whoever started it.
"""

import uuid
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from app.core.pagination import Page, PageRequest, paginate
from app.jobs.models import JobRun, JobStatus, JobType
from app.jobs.rollups import fold
from app.projects.visibility import visible_project, visible_scope
from app.users.models import User


def visible_to(user: User) -> ColumnElement[bool]:
    """The WHERE clause of the jobs `user` may see."""
    return visible_project(user, col(JobRun.project_id))


def get_job_for_user(*, session: Session, job_id: uuid.UUID, user: User) -> JobRun | None:
    """The job, or None when it does not exist or `user` may not see it (same answer)."""
    return session.exec(select(JobRun).where(JobRun.id == job_id, visible_to(user))).first()


def list_jobs(
    *,
    session: Session,
    user: User,
    project_id: uuid.UUID | None = None,
    statuses: Sequence[JobStatus] = (),
    job_types: Sequence[JobType] = (),
    page: PageRequest,
) -> Page[JobRun]:
    """Newest first, paginated (`app.core.pagination`: the count is bounded). Served by the
    (project_id, queued_at) index with a project, else by (queued_at) with visibility as a
    semi-join on the projects' primary key."""
    conditions: list[Any] = [visible_to(user)]
    if project_id is not None:
        conditions.append(col(JobRun.project_id) == project_id)
    if statuses:
        conditions.append(col(JobRun.status).in_([str(s) for s in statuses]))
    if job_types:
        conditions.append(col(JobRun.job_type).in_([str(t) for t in job_types]))
    statement = (
        select(JobRun)
        .where(*conditions)
        .order_by(col(JobRun.queued_at).desc(), col(JobRun.id).desc())
    )
    scope = ("project", project_id) if project_id is not None else visible_scope(user)

    def exact_count() -> int:
        return count_jobs(session=session, scope=scope, statuses=statuses, job_types=job_types)

    return paginate(session, statement, page, exact_count=exact_count)


def count_jobs(
    *,
    session: Session,
    scope: tuple[str, uuid.UUID],
    statuses: Sequence[JobStatus] = (),
    job_types: Sequence[JobType] = (),
) -> int:
    """Jobs of a rollup scope (app.jobs.rollups), from its daily rows: one row per day and
    type however many jobs there are."""
    counted = " + ".join(f"r.{JobStatus(s).value}" for s in (statuses or JobStatus))
    type_filter = "AND r.job_type = ANY(:job_types)" if job_types else ""
    statement = sa.text(
        f"SELECT coalesce(sum({counted}), 0) FROM job_counts_rollup AS r "  # noqa: S608
        f"WHERE r.scope = :scope AND r.scope_id = :scope_id AND r.grain = 'day' {type_filter}"
    )
    params = {"scope": scope[0], "scope_id": scope[1], "job_types": [str(t) for t in job_types]}
    fold(session.get_bind())
    return int(session.execute(statement, params).scalar_one())


def failed_jobs_to_retry(
    *,
    session: Session,
    user: User,
    project_id: uuid.UUID | None = None,
    job_type: JobType | None = None,
    limit: int,
) -> list[JobRun]:
    """Failed jobs the caller may see that were not retried yet, oldest first (a second bulk
    retry does not start the same failures again)."""
    retried = select(JobRun.retry_of).where(col(JobRun.retry_of).is_not(None))
    conditions: list[Any] = [
        visible_to(user),
        col(JobRun.status) == JobStatus.failed.value,
        col(JobRun.id).not_in(retried),
    ]
    if project_id is not None:
        conditions.append(col(JobRun.project_id) == project_id)
    if job_type is not None:
        conditions.append(col(JobRun.job_type) == job_type)
    rows = session.exec(
        select(JobRun).where(*conditions).order_by(col(JobRun.queued_at)).limit(limit)
    ).all()
    return list(rows)
