"""Per-user quotas: how many projects an account may own and how many jobs it may have
active at once. Superusers (operators) and the platform's own jobs are not limited.

The checks count, then the caller inserts: two requests racing at the last free slot can
both pass. The quotas keep one account from flooding the platform, to within a job or two.
"""

import sqlalchemy as sa
from sqlmodel import Session

from app.core.config import settings
from app.core.db import driver_connection
from app.users.models import User


class QuotaExceededError(Exception):
    """Answered 429 with the message (app.main)."""


# A start whose dedupe key an active job already holds returns that job and adds none.
_ACTIVE_JOBS = """
    SELECT
        (SELECT count(*) FROM job_runs
         WHERE user_id = %(user_id)s AND status IN ('queued', 'running', 'retrying')),
        EXISTS (SELECT 1 FROM job_runs
                WHERE dedupe_key = %(dedupe_key)s AND status IN ('queued', 'running', 'retrying'))
"""

_PROJECTS = "SELECT count(*) FROM projects WHERE owner_id = :user_id"


def check_active_jobs(*, session: Session, user: User, dedupe_key: str | None) -> None:
    """Raises QuotaExceededError when starting one more job would pass MAX_ACTIVE_JOBS_PER_USER."""
    if user.is_superuser:
        return
    limit = settings.MAX_ACTIVE_JOBS_PER_USER
    # On the driver, in autocommit: one round trip, no transaction left open for the start.
    row = (
        driver_connection(session, autocommit=True)
        .execute(_ACTIVE_JOBS, {"user_id": user.id, "dedupe_key": dedupe_key})
        .fetchone()
    )
    assert row is not None
    active, duplicate = row
    if not duplicate and active >= limit:
        raise QuotaExceededError(
            f"You have {active} active jobs, the most one account may have at once ({limit}); "
            "wait for some to finish or cancel them"
        )


def check_projects(*, session: Session, user: User) -> None:
    """Raises QuotaExceededError when one more project would pass MAX_PROJECTS_PER_USER."""
    if user.is_superuser:
        return
    limit = settings.MAX_PROJECTS_PER_USER
    row = session.execute(sa.text(_PROJECTS), {"user_id": user.id}).one()
    if row[0] >= limit:
        raise QuotaExceededError(
            f"You have {row[0]} projects, the most one account may have ({limit}); delete one first"
        )
