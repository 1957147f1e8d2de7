"""The job-status read path behind `GET /jobs/{id}`, the endpoint every dashboard polls.

It answers in one SQL statement on an async connection pool: the statement checks the
caller's account (exists, active, superuser) and the job's visibility (its project's
owner) and builds the JSON body and its digest inside PostgreSQL, so a poll costs one
round trip and no ORM or pydantic pass. The body is exactly `JobPublic`'s fields.
"""

import time
import uuid
import weakref
from dataclasses import dataclass
from enum import Enum

from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from app.core.config import settings
from app.core.db import libpq_dsn, needs_ping
from app.core.logging import get_logger
from app.core.security import Caller
from app.jobs.models import JobPublic
from app.projects.visibility import visible_project_sql

log = get_logger(__name__)


def _job_json_sql() -> str:
    # Column names equal JobPublic's field names; building the list from the model keeps the
    # fast body and the documented schema from drifting apart.
    pairs = ", ".join(f"'{name}', j.{name}" for name in JobPublic.model_fields)
    return f"json_build_object({pairs})::text"


# Visibility is the projects' rule (app.projects.visibility) for the account's row. The user
# row is the driving table, so a missing or disabled account is told apart from an invisible
# job in the same round trip.
_VISIBLE = visible_project_sql("j.project_id", user_id="u.id", superuser="u.is_superuser")
_VISIBLE_JOB = f"""
SELECT u.is_active, visible.body, md5(visible.body)
FROM {{callers}}
LEFT JOIN LATERAL (
    SELECT {_job_json_sql()} AS body
    FROM job_runs AS j
    WHERE j.id = %(job_id)s AND {_VISIBLE}
) AS visible ON true
"""  # noqa: S608 - composed of constants

# A login token: its account, at the token version it was issued with (a password change
# raises the account's version, so older tokens find no row: 401).
STATUS_SQL = (
    _VISIBLE_JOB.format(callers="users AS u")
    + "WHERE u.id = %(user_id)s AND u.token_version = %(token_version)s\n"
)

# A personal API token (by its digest): its account; the use is noted at most once a minute
# (a data-modifying CTE runs whether or not the query reads it).
_NOTE_USE_SQL = """
WITH touched AS (
    UPDATE api_tokens SET last_used_at = now()
    WHERE token_hash = %(digest)s
      AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')
)
"""
_CALLERS_BY_DIGEST = "api_tokens AS t JOIN users AS u ON u.id = t.user_id"
STATUS_BY_API_TOKEN_SQL = f"""{_NOTE_USE_SQL}
{_VISIBLE_JOB.format(callers=_CALLERS_BY_DIGEST)}
WHERE t.token_hash = %(digest)s
"""


class StatusOutcome(Enum):
    found = "found"
    not_found = "not_found"
    unknown_user = "unknown_user"
    inactive_user = "inactive_user"


@dataclass(frozen=True, slots=True)
class JobStatusBody:
    outcome: StatusOutcome
    body: bytes = b""
    etag: str = ""


# When each pooled connection went back to the pool, for the check before its next use.
_returned_at: "weakref.WeakKeyDictionary[AsyncConnection, float]" = weakref.WeakKeyDictionary()


async def _note_return(conn: AsyncConnection) -> None:
    _returned_at[conn] = time.monotonic()


async def _check_before_use(conn: AsyncConnection) -> None:
    """The engine's check (app/core/db.py), for this pool: a real ping only when the socket
    says the server spoke on its own (a restart's FATAL, then the close) or after a long
    idle. Without it, every connection a PostgreSQL restart broke would fail one request
    (a 500) before the pool learnt it was dead. Raising makes the pool discard the
    connection and hand out another."""
    if needs_ping(conn.fileno(), _returned_at.get(conn)):
        await AsyncConnectionPool.check_connection(conn)


class JobStatusReader:
    """Owns the async pool; opened and closed with the application (its lifespan)."""

    def __init__(self) -> None:
        self._pool: AsyncConnectionPool[AsyncConnection] | None = None

    async def open(self, database_url: str | None = None, *, max_size: int | None = None) -> None:
        if self._pool is not None:
            return
        size = max_size or settings.JOB_STATUS_POOL_SIZE
        self._pool = AsyncConnectionPool(
            libpq_dsn(database_url or settings.DATABASE_URL),
            min_size=min(2, size),
            max_size=size,
            # Autocommit: a lone SELECT needs no BEGIN/COMMIT, and a connection goes back to
            # the pool without a rollback round trip. UTC makes the JSON timestamps "+00:00".
            kwargs={"autocommit": True, "options": "-c TimeZone=UTC"},
            open=False,
            name="job-status",
            check=_check_before_use,
            reset=_note_return,
        )
        # Do not block start-up on the database: readiness reports it, requests wait for it.
        await self._pool.open(wait=False)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def read(self, *, job_id: uuid.UUID, caller: Caller) -> JobStatusBody:
        if self._pool is None:
            raise RuntimeError("the job status reader is not open (application lifespan)")
        if caller.api_token_digest is not None:
            sql = STATUS_BY_API_TOKEN_SQL
            params: dict[str, object] = {"job_id": job_id, "digest": caller.api_token_digest}
        else:
            sql = STATUS_SQL
            params = {
                "job_id": job_id,
                "user_id": caller.user_id,
                "token_version": caller.token_version,
            }
        async with self._pool.connection() as conn:
            cursor = await conn.execute(sql, params)
            row = await cursor.fetchone()
        if row is None:
            return JobStatusBody(StatusOutcome.unknown_user)
        is_active, body, digest = row
        if not is_active:
            return JobStatusBody(StatusOutcome.inactive_user)
        if body is None:
            return JobStatusBody(StatusOutcome.not_found)
        return JobStatusBody(StatusOutcome.found, body.encode(), f'"{digest}"')


job_status_reader = JobStatusReader()


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison of an If-None-Match header against our (strong) ETag."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == etag:
            return True
    return False
