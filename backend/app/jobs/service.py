"""Recording, starting, cancelling and retrying jobs (reads for people live in queries.py).

Functions are keyword-only and free of HTTP; routes, Beat tasks and the CLI call the same ones.
Every state change is a compare-and-set statement, so concurrent callers cannot double a job
or overwrite a terminal state.

A domain with rows of its own records them in the job's transaction; the job is published
when that commits (never if it rolls back), so no worker sees the job before its rows:

    job, created = jobs_service.record_job(session=session, job_type=..., stage=..., ...)
    if created:
        session.add(SyncRun(job_id=job.id, ...))
    session.commit()  # committed together, then published

Rows every job of a type needs however it starts (a retry too) are written by the function
the domain registers with `register_job_rows` (the audit row). `start_job` is record and
commit for callers with nothing of their own.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import redis
import sqlalchemy as sa
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from sqlalchemy.orm import configure_mappers, instrumentation, make_transient_to_detached
from sqlmodel import Session, col, select

from app.core.config import settings
from app.core.db import driver_connection, utcnow
from app.core.logging import get_logger
from app.core.quota import QuotaExceededError
from app.jobs.dispatch import publish_after_commit, retry_stage, revoke_job, stage_task
from app.jobs.models import (
    ACTIVE_STATUS_SQL,
    JobEvent,
    JobEventKind,
    JobPriority,
    JobRun,
    JobStatus,
    JobType,
)
from app.jobs.outbox import with_job_event
from app.jobs.priorities import account_of, fairness
from app.projects.models import Project
from app.users.models import User

logger = get_logger(__name__)

RETRYABLE_STATUSES = (JobStatus.failed, JobStatus.cancelled)
BULK_RETRY_LIMIT = 500


class JobNotRetryableError(Exception):
    """Only failed and cancelled jobs can be retried."""


def day_dedupe_key(job_type: JobType, target: object, day: date | None = None) -> str:
    """Dedupe key for scheduled fan-out: one job per (type, target) per UTC day, so two Beats
    firing the same schedule (or one firing twice) do the work once. Start such jobs with
    `start_job(..., dedupe_key=day_dedupe_key(...), once=True)`."""
    return f"{job_type}:{target}:{(day or utcnow().date()).isoformat()}"


# The start is on every API request that queues work, so its insert goes to the driver as
# one fixed statement: no statement building, compiling or result processing per call.
# ON CONFLICT names the partial unique index of active dedupe keys.
_INSERT_QUEUED = f"""
    INSERT INTO job_runs (id, job_type, project_id, user_id, status, stage, queue, priority,
                          progress_pct, attempts, max_attempts, queued_at, updated_at,
                          config_json, dedupe_key, retry_of)
    VALUES (%(id)s, %(job_type)s, %(project_id)s, %(user_id)s, 'queued', %(stage)s, %(queue)s,
            %(priority)s, 0, 0, %(max_attempts)s, %(now)s, %(now)s,
            %(config_json)s, %(dedupe_key)s, %(retry_of)s)
    ON CONFLICT (dedupe_key) WHERE {ACTIVE_STATUS_SQL} DO NOTHING
    RETURNING *
"""  # noqa: S608 - composed of constants


def _insert_queued(
    session: Session, params: dict[str, Any], *, autocommit: bool
) -> dict[str, Any] | None:
    """Runs the insert on the session's connection: with `autocommit` and no transaction open
    on the session, committed by itself in one round trip; else with the caller's work."""
    connection = driver_connection(session, autocommit=autocommit)
    with connection.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(_INSERT_QUEUED, params).fetchone()


_JOB_RUN_CLASS_MANAGER = instrumentation.manager_of_class(JobRun)


def _detached_job(row: dict[str, Any]) -> JobRun:
    """The inserted row as a JobRun that is detached with its identity (not transient): it
    keeps its loaded values, and adding it to a session later updates, never inserts again.
    Built the way the ORM builds a loaded row (no __init__, values set in one go): a tenth
    of the cost of JobRun(**values), which goes through every attribute's setter."""
    configure_mappers()  # the attribute machinery is complete (a no-op after the first call)
    job: JobRun = _JOB_RUN_CLASS_MANAGER.new_instance()
    job.__dict__.update(row)
    make_transient_to_detached(job)
    return job


# What a domain records with each new job of its type (the audit row of an audit job, ...),
# added in the job's transaction, so the row exists before any worker can see the job.
JobRowsRecorder = Callable[[Session, JobRun], None]
_job_rows: dict[str, JobRowsRecorder] = {}


def register_job_rows(job_type: JobType, record_rows: JobRowsRecorder) -> None:
    """`record_rows(session, job)` runs for every job of `job_type` that record_job creates,
    however it is started (the domain's start, a retry): the domain's rows are written with
    the job, never after it was published. Registered where the job type's tasks are."""
    _job_rows[job_type] = record_rows


def record_job(
    *,
    session: Session,
    job_type: JobType,
    stage: str,
    project: Project | None,
    user: User | None,
    priority: JobPriority | None = None,
    config: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    max_attempts: int | None = None,
    retry_of: uuid.UUID | None = None,
    once: bool = False,
) -> tuple[JobRun, bool]:
    """Records a queued job in the caller's transaction, without committing; the job is
    published when the caller commits, and not at all if the transaction rolls back. A domain
    with rows of its own records the job, adds its rows, then commits (rows every job of its
    type needs, however started, are written by its register_job_rows). Returns (job, created):
    when an active job holds the same dedupe key, that job is returned with created=False and
    nothing is published.

    The partial unique index on active dedupe keys decides races (INSERT ... ON CONFLICT DO
    NOTHING waits for a concurrent start's transaction), so any number of concurrent starts
    make one job. If the broker is down the job stays queued and the rescue sweep publishes it
    later (dispatch.py).

    `once=True` (scheduled fan-out, with a key from day_dedupe_key): a job that ever had this
    key is returned, finished or not, so a second Beat firing after the first job already
    ended does not run it again. Starts with the same key are serialized by an advisory lock
    held until the caller's transaction ends.
    """
    return _record_job(
        session,
        job_type=job_type,
        stage=stage,
        project=project,
        user=user,
        priority=priority,
        config=config,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
        retry_of=retry_of,
        once=once,
        autocommit=False,
    )


def start_job(
    *,
    session: Session,
    job_type: JobType,
    stage: str,
    project: Project | None,
    user: User | None,
    priority: JobPriority | None = None,
    config: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
    max_attempts: int | None = None,
    retry_of: uuid.UUID | None = None,
    once: bool = False,
) -> tuple[JobRun, bool]:
    """record_job and commit, for callers with no rows of their own: the job is committed,
    then published. With no transaction open on the session (and no rows a domain records
    with this job type), the insert commits by itself in one round trip."""
    job, created = _record_job(
        session,
        job_type=job_type,
        stage=stage,
        project=project,
        user=user,
        priority=priority,
        config=config,
        dedupe_key=dedupe_key,
        max_attempts=max_attempts,
        retry_of=retry_of,
        once=once,
        autocommit=True,
    )
    session.commit()  # publishes a created job
    return job, created


def _record_job(
    session: Session,
    *,
    job_type: JobType,
    stage: str,
    project: Project | None,
    user: User | None,
    priority: JobPriority | None,
    config: dict[str, Any] | None,
    dedupe_key: str | None,
    max_attempts: int | None,
    retry_of: uuid.UUID | None,
    once: bool,
    autocommit: bool,
) -> tuple[JobRun, bool]:
    queue = stage_task(job_type, stage).queue  # imports the task modules, which register rows
    if priority is None:
        priority = JobPriority.interactive if user is not None else JobPriority.scheduled
    record_rows = _job_rows.get(job_type)
    # A job with rows of its domain is never inserted alone: they commit together.
    autocommit = autocommit and record_rows is None
    if once:
        if dedupe_key is None:
            raise ValueError("once=True needs a dedupe_key")
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": dedupe_key},
        )
        earlier = session.exec(
            select(JobRun)
            .where(JobRun.dedupe_key == dedupe_key)
            .order_by(col(JobRun.queued_at).desc())
        ).first()
        if earlier is not None:
            _raise_priority(session, earlier, priority)
            session.expunge(earlier)  # stays loaded after the caller's commit
            return earlier, False
    if user is not None:
        # After the `once` block: inside its transaction (and advisory lock) when there is one.
        check_active_jobs(session=session, user=user, dedupe_key=dedupe_key)
    for _ in range(5):
        now = utcnow()
        row = _insert_queued(
            session,
            {
                "id": uuid.uuid4(),
                "job_type": str(job_type),
                "project_id": None if project is None else project.id,
                "user_id": None if user is None else user.id,
                "stage": stage,
                "queue": queue,
                "priority": priority.value,
                "max_attempts": max_attempts or settings.JOB_MAX_ATTEMPTS,
                "now": now,
                "config_json": Jsonb(config or {}),
                "dedupe_key": dedupe_key,
                "retry_of": retry_of,
            },
            autocommit=autocommit,
        )
        if row is not None:
            job = _detached_job(row)
            if record_rows is not None:
                record_rows(session, job)
            publish_after_commit(
                session=session,
                job_id=job.id,
                job_type=job_type,
                stage=stage,
                priority=priority,
                account=account_of(user_id=job.user_id, project_id=job.project_id),
            )
            return job, True
        active = session.exec(
            select(JobRun).where(
                JobRun.dedupe_key == dedupe_key,
                col(JobRun.status).in_([JobStatus.queued, JobStatus.running, JobStatus.retrying]),
            )
        ).first()
        if active is not None:
            _raise_priority(session, active, priority)
            session.expunge(active)  # stays loaded after the caller's commit
            return active, False
        # The active job ended between our insert and our read: try again.
    raise RuntimeError(f"could not start a {job_type} job for dedupe key {dedupe_key!r}")


_PRIORITY_ORDER = {JobPriority.interactive: 0, JobPriority.scheduled: 1, JobPriority.bulk: 2}

_RAISE_PRIORITY = sa.text("""
    UPDATE job_runs SET priority = :priority
    WHERE id = :id AND status = 'queued' AND priority = :was
    RETURNING id
""")


def _raise_priority(session: Session, job: JobRun, priority: JobPriority) -> None:
    """A start that finds its job already queued at a lower priority (a person clicks "Run
    audit" while the night's scheduled audit of the project waits) raises the job to the
    start's priority and publishes it again at that priority once the caller commits: the
    person does not wait behind the fan-out. The message at the old priority stays; whichever
    comes first is claimed, the other finds nothing to claim."""
    current = JobPriority(job.priority)
    if job.status != JobStatus.queued or _PRIORITY_ORDER[priority] >= _PRIORITY_ORDER[current]:
        return
    params = {"id": job.id, "priority": priority.value, "was": current.value}
    if session.execute(_RAISE_PRIORITY, params).first() is None:
        return
    job.priority = priority
    publish_after_commit(
        session=session,
        job_id=job.id,
        job_type=job.job_type,
        stage=job.stage,
        priority=priority,
        account=account_of(user_id=job.user_id, project_id=job.project_id),
    )
    logger.info("job_priority_raised", job_id=str(job.id), priority=priority.value)


class CancelOutcome(StrEnum):
    cancelled = "cancelled"  # was queued or waiting to retry: cancelled at once
    requested = "requested"  # running: it stops at its next checkpoint
    already_finished = "already_finished"  # terminal already: the route answers 409


@dataclass(frozen=True, slots=True)
class CancelResult:
    outcome: CancelOutcome
    job: JobRun


# With its job_events row (the outbox, outbox.py), like every terminal transition.
_CANCEL_WAITING = sa.text(
    with_job_event(
        """
    UPDATE job_runs SET status = 'cancelled', cancel_requested_at = now(), finished_at = now(),
        error_category = 'cancelled', error_message = 'cancelled by request',
        lease_expires_at = NULL, next_retry_at = NULL, updated_at = now()
    WHERE id = :id AND status IN ('queued', 'retrying')
""",
        event=JobEventKind.cancelled,
        returning="id",
        columns="id",
    )
)

_REQUEST_CANCEL = sa.text("""
    UPDATE job_runs SET cancel_requested_at = COALESCE(cancel_requested_at, now()),
        updated_at = now()
    WHERE id = :id AND status = 'running'
    RETURNING id
""")


def cancel_job(*, session: Session, job: JobRun) -> CancelResult:
    """Idempotent. Queued/retrying -> cancelled now (and the message revoked); running ->
    cancel requested, the worker ends it `cancelled` at its next checkpoint; finished jobs
    are left alone (CancelOutcome.already_finished, with their state)."""
    params = {"id": job.id}
    if session.execute(_CANCEL_WAITING, params).first() is not None:
        outcome = CancelOutcome.cancelled
    elif session.execute(_REQUEST_CANCEL, params).first() is not None:
        outcome = CancelOutcome.requested
    else:
        outcome = CancelOutcome.already_finished
    session.commit()
    current = session.get(JobRun, job.id, populate_existing=True)
    if current is None:  # deleted meanwhile (its project was)
        raise LookupError(f"job {job.id} no longer exists")
    if outcome is CancelOutcome.cancelled:
        revoke_job(job.id)
        _forget_waiting(job)
    logger.info("job_cancel", job_id=str(job.id), outcome=outcome.value)
    return CancelResult(outcome=outcome, job=current)


def _forget_waiting(job: JobRun) -> None:
    # No longer waiting: other accounts stop yielding to it (priorities.py). The sweep
    # drops the mark too if this fails.
    try:
        fairness().unmark_waiting(queue=job.queue, job_ids=[str(job.id)])
    except redis.RedisError as exc:
        logger.warning("job_fair_mark_unavailable", job_id=str(job.id), error=repr(exc))


def retry_job(*, session: Session, job: JobRun, user: User | None) -> tuple[JobRun, bool]:
    """A failed or cancelled job starts again as a new job linked by retry_of, from the
    stage its last stage names as `retry_from`, with its config and dedupe key. Returns
    (job, created) like start_job: an active job with the same key is returned instead."""
    if job.status not in RETRYABLE_STATUSES:
        raise JobNotRetryableError(
            f"only failed or cancelled jobs can be retried; this one is {job.status}"
        )
    project = None if job.project_id is None else session.get(Project, job.project_id)
    return start_job(
        session=session,
        job_type=job.job_type,
        stage=retry_stage(job.job_type, job.stage),
        project=project,
        user=user,
        priority=JobPriority(job.priority),
        config=job.config_json,
        dedupe_key=job.dedupe_key,
        max_attempts=job.max_attempts,
        retry_of=job.id,
    )


def retry_failed_jobs(
    *,
    session: Session,
    jobs: Sequence[JobRun],
    user: User | None,
) -> list[JobRun]:
    """Bulk retry: each failed job (cancelled ones are skipped: bulk retry is for failures)
    becomes a new job; at most BULK_RETRY_LIMIT. The caller selects `jobs` with the visibility
    rules of queries.py. Returns the new (or already active) jobs."""
    started: list[JobRun] = []
    for job in list(jobs)[:BULK_RETRY_LIMIT]:
        if job.status != JobStatus.failed:
            continue
        try:
            new_job, _ = retry_job(session=session, job=job, user=user)
        except QuotaExceededError:
            if not started:
                raise
            break  # the account's active-jobs quota is full: what started is the answer
        started.append(new_job)
    return started


# --- Per-account quota: active jobs (superusers and the platform's own jobs are not limited;
# the check counts, then the caller inserts, so two racing starts may both pass). ----------

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


# --- The outbox of terminal transitions (job_events, outbox.py): read by consumers -------

_CLAIM_EVENTS = sa.text("""
    SELECT job_id, event, attempt, job_type, project_id, occurred_at
    FROM job_events
    WHERE processed_at IS NULL
    ORDER BY occurred_at
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
""")

_MARK_EVENTS = sa.text("""
    UPDATE job_events SET processed_at = now()
    WHERE (job_id, event) IN (
        SELECT * FROM unnest(CAST(:job_ids AS uuid[]), CAST(:events AS varchar[])))
""")


def claim_job_events(*, session: Session, batch: int) -> list[JobEvent]:
    """Up to `batch` unprocessed terminal transitions, oldest first, locked until the
    caller's transaction ends; rows another consumer holds are skipped (SKIP LOCKED), so two
    consumers split the work. The caller records what it makes of them, then
    `mark_job_events_processed` and commits: both land, or neither and the events stay."""
    rows = session.execute(_CLAIM_EVENTS, {"batch": batch}).all()
    return [
        JobEvent(
            job_id=row.job_id,
            event=JobEventKind(row.event),
            attempt=row.attempt,
            job_type=row.job_type,
            project_id=row.project_id,
            occurred_at=row.occurred_at,
        )
        for row in rows
    ]


def mark_job_events_processed(*, session: Session, events: Sequence[JobEvent]) -> None:
    if events:
        session.execute(
            _MARK_EVENTS,
            {
                "job_ids": [event.job_id for event in events],
                "events": [str(event.event) for event in events],
            },
        )


def job_failure_days(
    *, session: Session, project_id: uuid.UUID, job_type: str, since: datetime
) -> list[datetime]:
    """When jobs of `job_type` failed for the project since `since` (from the outbox)."""
    return list(
        session.exec(
            select(JobEvent.occurred_at).where(
                JobEvent.project_id == project_id,
                JobEvent.job_type == job_type,
                JobEvent.event == JobEventKind.failed,
                col(JobEvent.occurred_at) >= since,
            )
        ).all()
    )


_PURGE_EVENTS = sa.text("""
    DELETE FROM job_events WHERE (job_id, event) IN (
        SELECT job_id, event FROM job_events
        WHERE occurred_at < now() - make_interval(days => :days)
        LIMIT :batch
    )
""")


def purge_old_job_events(session: Session, batch: int) -> int:
    """Retention rule: outbox rows older than JOB_EVENT_RETENTION_DAYS (processed long ago,
    or never wanted by anyone)."""
    result = session.execute(
        _PURGE_EVENTS, {"days": settings.JOB_EVENT_RETENTION_DAYS, "batch": batch}
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
