"""Every move of the job state machine, each one compare-and-set `UPDATE ... RETURNING`.

Whoever loses a race gets no row back and backs off; terminal states (completed, failed,
cancelled) appear in no WHERE clause, so nothing moves a job out of them. A worker's writes
are fenced by the attempt it claimed (`attempts = :attempt`): once a lease expired and the job
was claimed again, the old worker's late writes match nothing.

The statements run on the caller's connection in autocommit (one round trip each) and use the
database clock, so leases mean the same thing on every host.
"""

# The f-strings below only join this module's constant fragments; values are bound parameters.
# ruff: noqa: S608

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection

_LEASE = "now() + make_interval(secs => :lease_seconds)"

# Progress never goes backwards: each counter takes the greater of the stored and new value.
_PROGRESS_PCT = "progress_pct = GREATEST(progress_pct, COALESCE(CAST(:pct AS double precision), 0))"
_PROGRESS_SET = f"""
    {_PROGRESS_PCT},
    progress_message = COALESCE(CAST(:message AS varchar), progress_message),
    progress_current = CASE WHEN CAST(:current AS bigint) IS NULL THEN progress_current
                            ELSE GREATEST(COALESCE(progress_current, 0), :current) END,
    progress_total = COALESCE(CAST(:total AS bigint), progress_total)
"""

_CLAIM = sa.text(f"""
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
    WHERE id = :id AND stage = :stage AND cancel_requested_at IS NULL
      AND (status IN ('queued', 'retrying')
           OR (status = 'running' AND lease_expires_at < now() AND attempts < max_attempts))
    RETURNING job_type, project_id, user_id, attempts, max_attempts, config_json,
              queued_at, started_at, progress_pct, progress_current
""")

_PROGRESS = sa.text(f"""
    UPDATE job_runs SET {_PROGRESS_SET},
        heartbeat_at = now(), lease_expires_at = {_LEASE}, updated_at = now()
    WHERE id = :id AND status = 'running' AND attempts = :attempt
    RETURNING cancel_requested_at IS NOT NULL
""")

_HEARTBEAT = sa.text(f"""
    UPDATE job_runs SET heartbeat_at = now(), lease_expires_at = {_LEASE}
    WHERE id = :id AND status = 'running' AND attempts = :attempt
    RETURNING cancel_requested_at IS NOT NULL
""")

_CANCEL_PENDING = sa.text("""
    SELECT status <> 'running' OR attempts <> :attempt, cancel_requested_at IS NOT NULL
    FROM job_runs WHERE id = :id
""")

_COMPLETE = sa.text(f"""
    UPDATE job_runs SET {_PROGRESS_SET.replace(_PROGRESS_PCT, "progress_pct = 100")},
        status = 'completed', result_json = :result,
        finished_at = now(), lease_expires_at = NULL, updated_at = now(),
        error_category = NULL, error_message = NULL, error_traceback = NULL
    WHERE id = :id AND status = 'running' AND attempts = :attempt
    RETURNING finished_at - started_at
""").bindparams(sa.bindparam("result", type_=JSONB))

_FAIL = sa.text(f"""
    UPDATE job_runs SET {_PROGRESS_SET},
        status = 'failed', result_json = :result,
        error_category = :category, error_message = :error, error_traceback = :traceback,
        finished_at = now(), lease_expires_at = NULL, updated_at = now()
    WHERE id = :id AND status = 'running' AND attempts = :attempt
    RETURNING finished_at - started_at
""").bindparams(sa.bindparam("result", type_=JSONB))

_CANCELLED = sa.text(f"""
    UPDATE job_runs SET {_PROGRESS_SET},
        status = 'cancelled', result_json = :result,
        error_category = 'cancelled', error_message = :error,
        finished_at = now(), lease_expires_at = NULL, updated_at = now()
    WHERE id = :id AND status = 'running' AND attempts = :attempt
    RETURNING finished_at - started_at
""").bindparams(sa.bindparam("result", type_=JSONB))

_RETRY = sa.text(f"""
    UPDATE job_runs SET {_PROGRESS_SET},
        status = 'retrying', next_retry_at = now() + make_interval(secs => :delay),
        error_category = :category, error_message = :error, error_traceback = :traceback,
        lease_expires_at = NULL, updated_at = now()
    WHERE id = :id AND status = 'running' AND attempts = :attempt
      AND attempts < max_attempts AND cancel_requested_at IS NULL
    RETURNING next_retry_at
""")

_HAND_OFF = sa.text(f"""
    UPDATE job_runs SET {_PROGRESS_SET},
        status = 'queued', stage = :stage, queue = :queue,
        lease_expires_at = NULL, updated_at = now()
    WHERE id = :id AND status = 'running' AND attempts = :attempt
      AND cancel_requested_at IS NULL
    RETURNING id
""")


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


def claim(connection: Connection, *, job_id: str, stage: str, lease_seconds: float) -> Claim | None:
    row = connection.execute(
        _CLAIM, {"id": job_id, "stage": stage, "lease_seconds": lease_seconds}
    ).first()
    return None if row is None else Claim(*row)


def record_progress(
    connection: Connection, *, job_id: str, attempt: int, progress: Progress, lease_seconds: float
) -> bool | None:
    """Returns whether a cancel is pending, or None when this attempt no longer holds the job."""
    row = connection.execute(
        _PROGRESS,
        {"id": job_id, "attempt": attempt, "lease_seconds": lease_seconds, **progress.params()},
    ).first()
    return None if row is None else bool(row[0])


def extend_lease(
    connection: Connection, *, job_id: str, attempt: int, lease_seconds: float
) -> bool | None:
    row = connection.execute(
        _HEARTBEAT, {"id": job_id, "attempt": attempt, "lease_seconds": lease_seconds}
    ).first()
    return None if row is None else bool(row[0])


def cancel_pending(connection: Connection, *, job_id: str, attempt: int) -> bool | None:
    row = connection.execute(_CANCEL_PENDING, {"id": job_id, "attempt": attempt}).first()
    if row is None or row[0]:
        return None
    return bool(row[1])


def _finished(
    connection: Connection, statement: sa.TextClause, params: dict[str, Any], progress: Progress
) -> float | None:
    """Runs a terminal transition; returns the run time in seconds, None if it lost the race."""
    row = connection.execute(statement, {**params, **progress.params()}).first()
    if row is None:
        return None
    return row[0].total_seconds() if row[0] is not None else 0.0


def complete(
    connection: Connection,
    *,
    job_id: str,
    attempt: int,
    result: dict[str, Any],
    progress: Progress = NO_PROGRESS,
) -> float | None:
    params = {"id": job_id, "attempt": attempt, "result": result}
    return _finished(connection, _COMPLETE, params, progress)


def fail(
    connection: Connection,
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
    connection: Connection,
    *,
    job_id: str,
    attempt: int,
    result: dict[str, Any] | None,
    progress: Progress = NO_PROGRESS,
) -> float | None:
    params = {"id": job_id, "attempt": attempt, "result": result, "error": "cancelled by request"}
    return _finished(connection, _CANCELLED, params, progress)


def schedule_retry(
    connection: Connection,
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
    row = connection.execute(_RETRY, params).first()
    return None if row is None else row[0]


def hand_off(
    connection: Connection,
    *,
    job_id: str,
    attempt: int,
    stage: str,
    queue: str,
    progress: Progress = NO_PROGRESS,
) -> bool:
    params = {"id": job_id, "attempt": attempt, "stage": stage, "queue": queue}
    return connection.execute(_HAND_OFF, {**params, **progress.params()}).first() is not None
