"""Every move of the job state machine, each one compare-and-set `UPDATE ... RETURNING`.

Whoever loses a race gets no row back and backs off; terminal states (completed, failed,
cancelled) appear in no WHERE clause, so nothing moves a job out of them. A worker's writes
are fenced by the attempt it claimed (`AND attempts = %(attempt)s`): once a lease expired and
the job was claimed again, the old worker's late writes match nothing. The terminal ones
append their row to the `job_events` outbox in the same statement (outbox.py).

The statements run on the caller's psycopg connection in autocommit (one round trip each, a
prepared statement after the first few) and use the database clock, so leases mean the same
thing on every host. They bypass SQLAlchemy: they are the runtime's hot path, and each is
a single fixed statement with nothing to compose.
"""

# The f-strings below only join this module's constant fragments; values are bound parameters.
# ruff: noqa: S608

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import Connection
from psycopg.types.json import Jsonb

from app.jobs.models import JobEventKind
from app.jobs.outbox import with_job_event

_LEASE = "now() + make_interval(secs => %(lease_seconds)s)"

# Progress never goes backwards: each counter takes the greater of the stored and new value.
_PROGRESS_PCT = (
    "progress_pct = GREATEST(progress_pct, COALESCE(CAST(%(pct)s AS double precision), 0))"
)
_PROGRESS_SET = f"""
    {_PROGRESS_PCT},
    progress_message = COALESCE(CAST(%(message)s AS varchar), progress_message),
    progress_current = CASE WHEN CAST(%(current)s AS bigint) IS NULL THEN progress_current
                            ELSE GREATEST(COALESCE(progress_current, 0), %(current)s) END,
    progress_total = COALESCE(CAST(%(total)s AS bigint), progress_total)
"""

_CLAIM = f"""
    UPDATE job_runs SET
        status = 'running',
        -- a hand-off (queued again, already started) continues the same attempt
        attempts = attempts + CASE WHEN status = 'queued' AND started_at IS NOT NULL
                                   THEN 0 ELSE 1 END,
        started_at = COALESCE(started_at, now()),
        heartbeat_at = now(),
        lease_expires_at = {_LEASE},
        next_retry_at = NULL,
        updated_at = now()
    WHERE id = %(id)s AND stage = %(stage)s AND cancel_requested_at IS NULL
      AND (status IN ('queued', 'retrying')
           OR (status = 'running' AND lease_expires_at < now() AND attempts < max_attempts))
    RETURNING job_type, project_id, user_id, attempts, max_attempts, config_json,
              queued_at, started_at, progress_pct, progress_current, priority,
              -- the job's first claim: its pickup (queued -> running) is counted
              attempts = 1 AND started_at = heartbeat_at
"""

_PROGRESS = f"""
    UPDATE job_runs SET {_PROGRESS_SET},
        heartbeat_at = now(), lease_expires_at = {_LEASE}, updated_at = now()
    WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
    RETURNING cancel_requested_at IS NOT NULL
"""

_HEARTBEAT = f"""
    UPDATE job_runs SET heartbeat_at = now(), lease_expires_at = {_LEASE}
    WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
    RETURNING cancel_requested_at IS NOT NULL
"""

_CANCEL_PENDING = """
    SELECT status <> 'running' OR attempts <> %(attempt)s, cancel_requested_at IS NOT NULL
    FROM job_runs WHERE id = %(id)s
"""

_COMPLETE = with_job_event(
    f"""
    UPDATE job_runs SET {_PROGRESS_SET.replace(_PROGRESS_PCT, "progress_pct = 100")},
        status = 'completed', result_json = %(result)s,
        finished_at = now(), lease_expires_at = NULL, updated_at = now(),
        error_category = NULL, error_message = NULL, error_traceback = NULL
    WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
""",
    event=JobEventKind.completed,
    returning="finished_at - started_at AS ran",
    columns="ran",
)

_FAIL = with_job_event(
    f"""
    UPDATE job_runs SET {_PROGRESS_SET},
        status = 'failed', result_json = %(result)s,
        error_category = %(category)s, error_message = %(error)s, error_traceback = %(traceback)s,
        finished_at = now(), lease_expires_at = NULL, updated_at = now()
    WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
""",
    event=JobEventKind.failed,
    returning="finished_at - started_at AS ran",
    columns="ran",
)

_CANCELLED = with_job_event(
    f"""
    UPDATE job_runs SET {_PROGRESS_SET},
        status = 'cancelled', result_json = %(result)s,
        error_category = 'cancelled', error_message = %(error)s,
        finished_at = now(), lease_expires_at = NULL, updated_at = now()
    WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
""",
    event=JobEventKind.cancelled,
    returning="finished_at - started_at AS ran",
    columns="ran",
)

_RETRY = f"""
    UPDATE job_runs SET {_PROGRESS_SET},
        status = 'retrying', next_retry_at = now() + make_interval(secs => %(delay)s),
        error_category = %(category)s, error_message = %(error)s, error_traceback = %(traceback)s,
        lease_expires_at = NULL, updated_at = now()
    WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
      AND attempts < max_attempts AND cancel_requested_at IS NULL
    RETURNING next_retry_at
"""

# The counters belong to a stage (pages crawled, then pages rendered): the next stage starts
# without any, so they never show one stage's numbers during another.
_HAND_OFF = f"""
    UPDATE job_runs SET {_PROGRESS_PCT},
        progress_message = COALESCE(CAST(%(message)s AS varchar), progress_message),
        progress_current = NULL, progress_total = NULL,
        status = 'queued', stage = %(stage)s, queue = %(queue)s,
        lease_expires_at = NULL, updated_at = now()
    WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
      AND cancel_requested_at IS NULL
    RETURNING id
"""


@dataclass(frozen=True, slots=True)
class Claim:
    job_type: str
    project_id: uuid.UUID | None
    user_id: uuid.UUID | None
    attempt: int
    max_attempts: int
    config: dict[str, Any]
    queued_at: datetime
    started_at: datetime
    progress_pct: float
    progress_current: int | None
    priority: str
    first_claim: bool


@dataclass(frozen=True, slots=True)
class Progress:
    """Values of a progress write; None leaves the stored value."""

    pct: float | None = None
    message: str | None = None
    current: int | None = None
    total: int | None = None

    def params(self) -> dict[str, Any]:
        message = None if self.message is None else self.message[:500]
        return {"pct": self.pct, "message": message, "current": self.current, "total": self.total}


NO_PROGRESS = Progress()


def claim(
    connection: Connection[Any], *, job_id: str, stage: str, lease_seconds: float
) -> Claim | None:
    row = connection.execute(
        _CLAIM, {"id": job_id, "stage": stage, "lease_seconds": lease_seconds}
    ).fetchone()
    return None if row is None else Claim(*row)


def record_progress(
    connection: Connection[Any],
    *,
    job_id: str,
    attempt: int,
    progress: Progress,
    lease_seconds: float,
) -> bool | None:
    """Returns whether a cancel is pending, or None when this attempt no longer holds the job."""
    row = connection.execute(
        _PROGRESS,
        {"id": job_id, "attempt": attempt, "lease_seconds": lease_seconds, **progress.params()},
    ).fetchone()
    return None if row is None else bool(row[0])


def extend_lease(
    connection: Connection[Any], *, job_id: str, attempt: int, lease_seconds: float
) -> bool | None:
    row = connection.execute(
        _HEARTBEAT, {"id": job_id, "attempt": attempt, "lease_seconds": lease_seconds}
    ).fetchone()
    return None if row is None else bool(row[0])


def cancel_pending(connection: Connection[Any], *, job_id: str, attempt: int) -> bool | None:
    row = connection.execute(_CANCEL_PENDING, {"id": job_id, "attempt": attempt}).fetchone()
    if row is None or row[0]:
        return None
    return bool(row[1])


def _finished(
    connection: Connection[Any], statement: str, params: dict[str, Any], progress: Progress
) -> float | None:
    """Runs a terminal transition; returns the run time in seconds, None if it lost the race."""
    if params.get("result") is not None:
        params = {**params, "result": Jsonb(params["result"])}
    row = connection.execute(statement, {**params, **progress.params()}).fetchone()
    if row is None:
        return None
    return row[0].total_seconds() if row[0] is not None else 0.0


def complete(
    connection: Connection[Any],
    *,
    job_id: str,
    attempt: int,
    result: dict[str, Any],
    progress: Progress = NO_PROGRESS,
) -> float | None:
    params = {"id": job_id, "attempt": attempt, "result": result}
    return _finished(connection, _COMPLETE, params, progress)


def fail(
    connection: Connection[Any],
    *,
    job_id: str,
    attempt: int,
    category: str,
    message: str,
    traceback: str | None,
    result: dict[str, Any] | None = None,
    progress: Progress = NO_PROGRESS,
) -> float | None:
    params = {
        "id": job_id,
        "attempt": attempt,
        "category": category,
        "error": message[:2000],
        "traceback": traceback,
        "result": result,
    }
    return _finished(connection, _FAIL, params, progress)


def cancel_running(
    connection: Connection[Any],
    *,
    job_id: str,
    attempt: int,
    result: dict[str, Any] | None,
    progress: Progress = NO_PROGRESS,
) -> float | None:
    params = {"id": job_id, "attempt": attempt, "result": result, "error": "cancelled by request"}
    return _finished(connection, _CANCELLED, params, progress)


def schedule_retry(
    connection: Connection[Any],
    *,
    job_id: str,
    attempt: int,
    delay_seconds: float,
    category: str,
    message: str,
    traceback: str | None,
    progress: Progress = NO_PROGRESS,
) -> datetime | None:
    params = {
        "id": job_id,
        "attempt": attempt,
        "delay": delay_seconds,
        "category": category,
        "error": message[:2000],
        "traceback": traceback,
        **progress.params(),
    }
    row = connection.execute(_RETRY, params).fetchone()
    return None if row is None else row[0]


def hand_off(
    connection: Connection[Any],
    *,
    job_id: str,
    attempt: int,
    stage: str,
    queue: str,
    progress: Progress = NO_PROGRESS,
) -> bool:
    params = {"id": job_id, "attempt": attempt, "stage": stage, "queue": queue}
    return connection.execute(_HAND_OFF, {**params, **progress.params()}).fetchone() is not None


_WAITING_JOB = """
    SELECT job_type, stage, priority, user_id, project_id FROM job_runs
    WHERE id = %(id)s AND status = 'queued'
"""


@dataclass(frozen=True, slots=True)
class WaitingJob:
    job_type: str
    stage: str
    priority: str
    user_id: uuid.UUID | None
    project_id: uuid.UUID | None


def waiting_job(connection: Connection[Any], *, job_id: str) -> WaitingJob | None:
    """What publishing a queued job needs; None when it no longer waits."""
    row = connection.execute(_WAITING_JOB, {"id": job_id}).fetchone()
    return None if row is None else WaitingJob(*row)
