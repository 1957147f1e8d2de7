"""Tracked tasks: Celery tasks that run one stage of a job recorded in `job_runs`.

A tracked task takes only the job id. It claims the job (compare-and-set, with a lease) before
any work, so a duplicate or late message finds nothing to claim and does nothing. The body
gets a `JobContext` to report progress and to see cancellation; whatever it returns or raises
becomes exactly one transition (transitions.py).

The hot path is lean on purpose: one claim and one completion statement on a connection the
worker process keeps, no ORM objects, no Celery result (the row is the result).

    @tracked_task(job_type="audit", stage="crawl")
    def crawl_site(job: JobContext) -> dict[str, Any] | HandOff:
        for done, url in enumerate(frontier, 1):
            job.progress(current=done, total=len(frontier), message=url)
        return job.hand_off("render")
"""

import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import psycopg
import redis
import structlog
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from app.core.celery_app import celery_app
from app.core.config import settings
from app.core.db import libpq_dsn
from app.core.logging import get_logger
from app.jobs import transitions
from app.jobs.dispatch import publish_job, queue_of, register_stage, stage_task
from app.jobs.errors import (
    JobCancelled,
    PermanentJobError,
    TransientJobError,
    classify,
    retry_delay,
)
from app.jobs.models import JobPriority, JobType
from app.jobs.priorities import (
    ACCOUNT_HEADER,
    PRIORITY_HEADER,
    Hold,
    account_of,
    fairness,
    slot_id,
)

__all__ = [
    "HandOff",
    "JobCancelled",
    "JobContext",
    "PermanentJobError",
    "TrackedTask",
    "TransientJobError",
    "tracked_task",
]

logger = get_logger(__name__)

# Progress writes and cancel checks reach the database at most once per interval per job.
PROGRESS_INTERVAL_SECONDS = 1.0

T = TypeVar("T")


class LeaseLostError(Exception):
    """This attempt no longer holds the job (its lease expired and it was claimed again, or
    the job already ended): stop without writing anything."""


@dataclass(frozen=True, slots=True)
class HandOff:
    """Returned by a stage body: continue the same job in the task registered for `stage`."""

    stage: str
    message: str | None = None


# How long a job waits for the database to take connections again (a restart, a fail-over)
# before its stage fails with the error.
RECONNECT_WITHIN_SECONDS = 30.0

# The store's connections, by use.
_ASYNC_COMMIT = "async-commit"
_DURABLE = "durable"
_HEARTBEAT = "heartbeat"


class _Store:
    """The worker process's database access for the runtime: psycopg connections in
    autocommit kept open (one round trip per transition, no pool check-out, no ping).

    Two connections for the job's own writes, because not every write needs to wait for the
    disk, and a third for the heartbeat thread; under `--pool threads` each pool thread has
    its own two, so no thread waits on another's statement. Claims, progress, heartbeats,
    hand-offs and retry scheduling commit asynchronously (synchronous_commit off): if
    PostgreSQL itself crashes, the last fraction of a second of them may be lost, which the
    lease and the sweep already recover from (the job runs again). Terminal transitions
    (completed, failed, cancelled) wait for the WAL flush, which also makes every earlier
    write of the job durable, so a reported result is never lost.
    """

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._dsn = libpq_dsn(settings.DATABASE_URL)
        # By (use, thread).
        self._connections: dict[tuple[str, int], psycopg.Connection[Any]] = {}

    def call(self, transition: Callable[..., T], *, durable: bool = False, **params: Any) -> T:
        return self._call(_DURABLE if durable else _ASYNC_COMMIT, transition, params)

    def call_separately(self, transition: Callable[..., T], **params: Any) -> T:
        """For the heartbeat thread, which must not share the main thread's connections."""
        return self._call(_HEARTBEAT, transition, params)

    def _call(self, use: str, transition: Callable[..., T], params: dict[str, Any]) -> T:
        """Runs `transition` on this thread's connection for `use`. A connection the server
        dropped (a restart, an idle timeout) is replaced at once; while the server does not
        take connections (restarting), the job waits for it, up to RECONNECT_WITHIN_SECONDS,
        rather than failing mid-way and waiting for its lease to expire. Every transition is
        a compare-and-set, so running one again after a connection died under it is safe:
        a write that did land makes the second attempt find nothing to change."""
        key = (use, threading.get_ident())
        deadline: float | None = None
        pause = 0.1
        while True:
            connection = self._connections.get(key)
            try:
                if connection is None or connection.closed:
                    connection = None
                    connection = self._connections[key] = self._connect(durable=use == _DURABLE)
                return transition(connection, **params)
            except psycopg.OperationalError as exc:
                if connection is not None:
                    self._discard(key)
                    if not connection.broken:
                        raise  # the server refused the statement, not the connection
                now = time.monotonic()
                if deadline is None:
                    deadline = now + RECONNECT_WITHIN_SECONDS
                    if connection is not None:
                        continue  # a stale connection: try a fresh one straight away
                if now >= deadline:
                    raise
                logger.warning("job_database_unavailable", error=str(exc).strip()[:200])
                time.sleep(min(pause, deadline - now))
                pause = min(pause * 2, 2.0)
            except psycopg.Error:
                raise  # the statement failed; the autocommit connection is fine
            except BaseException:
                # Interrupted mid-statement (the soft time limit's signal, a shutdown): what the
                # connection is doing is unknown, so it is not used again.
                self._discard(key)
                raise

    def _discard(self, key: tuple[str, int]) -> None:
        connection = self._connections.pop(key, None)
        if connection is not None:
            connection.close()

    def _connect(self, *, durable: bool) -> psycopg.Connection[Any]:
        options = "-c TimeZone=UTC" + ("" if durable else " -c synchronous_commit=off")
        return psycopg.connect(self._dsn, autocommit=True, options=options)


_store_instance: _Store | None = None


def _store() -> _Store:
    global _store_instance
    if _store_instance is None or _store_instance.pid != os.getpid():
        # A forked child starts its own connections, never reusing the parent's sockets.
        _store_instance = _Store()
    return _store_instance


class JobContext:
    """What a stage body knows of its job, and how it reports back."""

    def __init__(
        self,
        *,
        job_id: uuid.UUID,
        job_type: JobType,
        project_id: uuid.UUID | None,
        user_id: uuid.UUID | None,
        attempt: int,
        max_attempts: int,
        stage: str,
        config: dict[str, Any],
        progress_pct: float = 0.0,
        progress_current: int | None = None,
        store: _Store | None = None,
    ) -> None:
        self.job_id = job_id
        self.job_type = job_type
        self.project_id = project_id
        self.user_id = user_id
        self.attempt = attempt
        self.max_attempts = max_attempts
        self.stage = stage
        self.config = config
        # Recorded as the job's result if it ends early (soft time limit, cancel).
        self.partial_result: dict[str, Any] = {}
        self.log = logger
        self._store = store or _store()
        self._pct = progress_pct
        self._current = progress_current
        self._pending = transitions.NO_PROGRESS
        self._last_contact = time.monotonic()
        self._cancel_seen = False
        self._lease_lost = False
        # The worker slot this stage holds for its account (priorities.py), if any.
        self.hold: Hold | None = None
        self.priority = JobPriority.interactive

    def progress(
        self,
        *,
        pct: float | None = None,
        message: str | None = None,
        current: int | None = None,
        total: int | None = None,
    ) -> None:
        """Throttled (about one write a second; the last one always lands, with the final
        transition), monotonic, extends the lease, raises JobCancelled when a cancel is
        pending (learnt in the same round trip as the write)."""
        if pct is not None:
            pct = max(self._pct, min(100.0, max(0.0, pct)))
            self._pct = pct
        if current is not None:
            current = max(self._current or 0, current)
            self._current = current
        pending = self._pending
        self._pending = transitions.Progress(
            pct=pct if pct is not None else pending.pct,
            message=message if message is not None else pending.message,
            current=current if current is not None else pending.current,
            total=total if total is not None else pending.total,
        )
        self._raise_if_stopped()
        if time.monotonic() - self._last_contact >= PROGRESS_INTERVAL_SECONDS:
            self._flush()

    def checkpoint(self) -> None:
        """Cheap: raises JobCancelled if a cancel is pending. Asks the database at most once
        per progress interval (writing pending progress in the same round trip)."""
        self._raise_if_stopped()
        if time.monotonic() - self._last_contact < PROGRESS_INTERVAL_SECONDS:
            return
        if self._pending != transitions.NO_PROGRESS:
            self._flush()
            return
        pending = self._store.call(
            transitions.cancel_pending, job_id=str(self.job_id), attempt=self.attempt
        )
        self._last_contact = time.monotonic()
        self._note(pending)

    def hand_off(self, stage: str, *, message: str | None = None) -> HandOff:
        """Return this from a stage body to continue the same job (same id, attempts and
        started_at) in the task registered for `stage`, on that task's queue."""
        return HandOff(stage=stage, message=message)

    def take_pending_progress(self) -> transitions.Progress:
        pending, self._pending = self._pending, transitions.NO_PROGRESS
        return pending

    def _flush(self) -> None:
        pending = self.take_pending_progress()
        cancel = self._store.call(
            transitions.record_progress,
            job_id=str(self.job_id),
            attempt=self.attempt,
            progress=pending,
            lease_seconds=settings.JOB_LEASE_SECONDS,
        )
        self._last_contact = time.monotonic()
        _heartbeat.touched(self)
        self._note(cancel)

    def _note(self, cancel_pending: bool | None) -> None:
        if cancel_pending is None:
            self._lease_lost = True
        elif cancel_pending:
            self._cancel_seen = True
        self._raise_if_stopped()

    def _raise_if_stopped(self) -> None:
        if self._lease_lost:
            raise LeaseLostError(
                f"job {self.job_id} attempt {self.attempt} no longer holds the job"
            )
        if self._cancel_seen:
            raise JobCancelled(f"job {self.job_id} was cancelled")

    def _seen_by_heartbeat(self, cancel_pending: bool | None) -> None:
        # Called from the heartbeat thread: only flags, the body raises at its next checkpoint.
        if cancel_pending is None:
            self._lease_lost = True
        elif cancel_pending:
            self._cancel_seen = True


class _Heartbeat:
    """One thread per worker process extends the lease of every job the process is running
    (one per pool thread under `--pool threads`) when its body has not written progress for
    a while, so a long silent step is not taken for a dead worker. Short jobs never trigger
    a write."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # Running jobs by context, with when each last reached the database.
        self._jobs: dict[JobContext, float] = {}
        self._pid = 0

    def watch(self, job: JobContext) -> None:
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._lock = threading.Lock()
            self._jobs = {}
            threading.Thread(target=self._loop, name="job-heartbeat", daemon=True).start()
        with self._lock:
            self._jobs[job] = time.monotonic()

    def touched(self, job: JobContext) -> None:
        with self._lock:
            if job in self._jobs:
                self._jobs[job] = time.monotonic()

    def release(self, job: JobContext) -> None:
        with self._lock:
            self._jobs.pop(job, None)

    def running(self) -> int:
        with self._lock:
            return len(self._jobs)

    def _loop(self) -> None:
        lease = settings.JOB_LEASE_SECONDS
        held_until: dict[JobContext, float] = {}
        while True:
            time.sleep(min(lease / 4, 10.0))
            now = time.monotonic()
            with self._lock:
                due = [job for job, last in self._jobs.items() if now - last >= lease / 3]
                held = [job for job in self._jobs if job.hold is not None]
            for job in due:
                self._extend(job, lease)
            # The account's slot (priorities.py) lives as long as the job runs, whether or
            # not its body writes progress.
            held_until = {job: held_until.get(job, now) for job in held}
            for job, since in held_until.items():
                if now - since >= lease / 3:
                    self._extend_hold(job, lease)
                    held_until[job] = now

    def _extend_hold(self, job: JobContext, lease: int) -> None:
        if job.hold is None:
            return
        try:
            fairness().extend(job.hold, lease_seconds=lease)
        except redis.RedisError as exc:
            logger.warning("job_slot_extend_failed", job_id=str(job.job_id), error=repr(exc))

    def _extend(self, job: JobContext, lease: int) -> None:
        try:
            cancel = _store().call_separately(
                transitions.extend_lease,
                job_id=str(job.job_id),
                attempt=job.attempt,
                lease_seconds=lease,
            )
        except Exception as exc:
            logger.warning("job_heartbeat_failed", job_id=str(job.job_id), error=repr(exc))
            return
        self.touched(job)
        job._seen_by_heartbeat(cancel)


_heartbeat = _Heartbeat()

StageBody = Callable[[JobContext], dict[str, Any] | HandOff]


class TrackedTask(Task):  # type: ignore[type-arg]
    """Base of tracked tasks: the (job type, stage) they run is on the class."""

    job_type: JobType
    stage: str


def tracked_task(
    *,
    job_type: JobType,
    stage: str,
    name: str | None = None,
    retry_from: str | None = None,
    **celery_options: Any,
) -> Callable[[StageBody], TrackedTask]:
    """Registers (job_type, stage) -> a Celery task taking `job_id: str` only.

    `retry_from` names the stage a retried job starts again from when the original ended in
    this one (a stage reached by hand-off usually needs the earlier stages' work again);
    by default, this stage."""

    def decorate(body: StageBody) -> TrackedTask:
        task_name = name or f"{body.__module__}.{body.__name__}"
        options: dict[str, Any] = {
            "ignore_result": True,  # the job row is the result
            "acks_late": True,
            **celery_options,
        }

        def run(self: TrackedTask, job_id: str) -> None:
            run_stage(job_id=job_id, job_type=job_type, stage=stage, body=body, task=self)

        run.__name__ = body.__name__
        run.__doc__ = body.__doc__
        register = celery_app.task(name=task_name, bind=True, base=TrackedTask, **options)
        task: TrackedTask = register(run)  # type: ignore[no-untyped-call]
        task.job_type = job_type
        task.stage = stage
        register_stage(job_type, stage, task, retry_from=retry_from)
        return task

    return decorate


def run_stage(
    *,
    job_id: str,
    job_type: JobType,
    stage: str,
    body: StageBody,
    task: Task | None = None,  # type: ignore[type-arg]
) -> None:
    request = getattr(task, "request", None)
    priority = _header_priority(request)
    account = str(getattr(request, ACCOUNT_HEADER, None) or "")
    # The queue this delivery came from; a stage run in-process (no task) counts on the default.
    queue = queue_of(task.name) if task is not None else str(celery_app.conf.task_default_queue)
    hold = _acquire_slot(
        job_id=job_id,
        job_type=job_type,
        stage=stage,
        queue=queue,
        priority=priority,
        account=account,
    )
    if hold is False:
        return  # over its account's share while others wait: published again, still queued
    store = _store()
    try:
        claim = store.call(
            transitions.claim,
            job_id=job_id,
            stage=stage,
            lease_seconds=settings.JOB_LEASE_SECONDS,
        )
    except BaseException:
        _release_slot(hold if isinstance(hold, Hold) and hold.fresh else None)
        raise
    if claim is None:
        # A duplicate or late message: someone else holds the job, or it has ended. A slot
        # the job held before this delivery belongs to the one running it.
        _release_slot(hold if isinstance(hold, Hold) and hold.fresh else None)
        logger.info("job_not_claimed", job_id=job_id, job_type=job_type, stage=stage)
        return
    structlog.contextvars.bind_contextvars(
        job_id=job_id,
        job_type=job_type,
        project_id=None if claim.project_id is None else str(claim.project_id),
        attempt=claim.attempt,
        stage=stage,
    )
    job = JobContext(
        job_id=uuid.UUID(job_id),
        job_type=job_type,
        project_id=claim.project_id,
        user_id=claim.user_id,
        attempt=claim.attempt,
        max_attempts=claim.max_attempts,
        stage=stage,
        config=claim.config,
        progress_pct=claim.progress_pct,
        progress_current=claim.progress_current,
        store=store,
    )
    job.priority = JobPriority(claim.priority)
    job.hold = hold if isinstance(hold, Hold) else None
    pickup = None
    if claim.first_claim:
        pickup = (job.priority, (claim.started_at - claim.queued_at).total_seconds())
    _heartbeat.watch(job)
    try:
        outcome = body(job)
    except JobCancelled:
        _finish_cancelled(job)
    except LeaseLostError:
        logger.warning("job_lease_lost")
    except SoftTimeLimitExceeded:
        limit = getattr(task, "soft_time_limit", None) or settings.TASK_SOFT_TIME_LIMIT
        _finish_failed(
            job,
            category="time_limit",
            message=f"stopped at the soft time limit ({limit} s); the partial result is kept",
            result=job.partial_result,
        )
    except Exception as exc:
        _handle_failure(job, exc)
    else:
        if isinstance(outcome, HandOff):
            _hand_off(job, outcome)
        else:
            _finish_completed(job, outcome)
    finally:
        _heartbeat.release(job)
        _release_slot(hold, pickup=pickup)


def _header_priority(request: Any) -> JobPriority:
    value = getattr(request, PRIORITY_HEADER, None)
    try:
        return JobPriority(str(value))
    except ValueError:
        return JobPriority.interactive  # a message from before priorities, or sent by hand


def _acquire_slot(
    *,
    job_id: str,
    job_type: JobType,
    stage: str,
    queue: str,
    priority: JobPriority,
    account: str,
) -> Hold | bool | None:
    """Asks for a slot of the queue for the job's account (priorities.py). Returns the hold,
    None when there is nothing to hold (no account, or Redis unreachable: the job runs, the
    database claim still decides), or False when the job was sent back to wait."""
    slot = slot_id()
    try:
        granted, other = fairness().acquire(
            queue=queue, job_id=job_id, account=account, priority=priority, slot=slot
        )
    except redis.RedisError as exc:
        logger.warning("job_slot_unavailable", job_id=job_id, error=repr(exc))
        return None
    if granted:
        if granted == 2:
            logger.info("job_bulk_share_promoted", queue=queue)
        if not account:
            return None
        return Hold(queue=queue, account=account, job_id=job_id, slot=slot, fresh=granted != 3)
    # Over the account's share while other accounts wait: back to wait, untouched in the
    # database (still queued, no attempt spent, its queued_at kept), at its own priority.
    logger.info("job_fair_share_deferred", job_id=job_id, account=account, queue=queue)
    if other is not None:
        _send_to_front(other)
    publish_job(
        job_id=job_id,
        job_type=job_type,
        stage=stage,
        priority=priority,
        account=account,
        countdown=settings.JOB_FAIR_SHARE_RETRY_SECONDS,
    )
    return False


def _send_to_front(job_id: str) -> None:
    """Publishes a waiting job of another account at the highest priority step, so the slot
    an over-share account just gave up goes to it at once instead of to the next of that
    account's messages. Its own message stays: whichever comes first is claimed."""
    found = _store().call(transitions.waiting_job, job_id=job_id)
    if found is None:
        return
    publish_job(
        job_id=job_id,
        job_type=found.job_type,
        stage=found.stage,
        priority=found.priority,
        account=account_of(user_id=found.user_id, project_id=found.project_id),
        front=True,
    )


def _release_slot(
    hold: Hold | bool | None, *, pickup: tuple[JobPriority, float] | None = None
) -> None:
    if not isinstance(hold, Hold) and pickup is None:
        return
    try:
        if isinstance(hold, Hold):
            fairness().release(hold, pickup=pickup)
        elif pickup is not None:
            fairness().observe(pickup)
    except redis.RedisError as exc:
        # The slot's lease ends it anyway.
        logger.warning("job_slot_release_failed", error=repr(exc))


def _finish_completed(job: JobContext, result: dict[str, Any]) -> None:
    ran = job._store.call(
        transitions.complete,
        durable=True,
        job_id=str(job.job_id),
        attempt=job.attempt,
        result=result,
        progress=job.take_pending_progress(),
    )
    if ran is None:
        # Cancelled, or taken over after a lost lease: the terminal state stands.
        logger.warning("job_completion_lost_race")
    else:
        logger.info("job_completed", seconds=round(ran, 3))


def _finish_cancelled(job: JobContext) -> None:
    ran = job._store.call(
        transitions.cancel_running,
        durable=True,
        job_id=str(job.job_id),
        attempt=job.attempt,
        result=job.partial_result or None,
        progress=job.take_pending_progress(),
    )
    logger.info("job_cancelled" if ran is not None else "job_cancel_lost_race")


def _finish_failed(
    job: JobContext,
    *,
    category: str,
    message: str,
    result: dict[str, Any] | None = None,
    trace: str | None = None,
) -> None:
    ran = job._store.call(
        transitions.fail,
        durable=True,
        job_id=str(job.job_id),
        attempt=job.attempt,
        category=category,
        message=message,
        traceback=trace,
        result=result or None,
        progress=job.take_pending_progress(),
    )
    if ran is None:
        logger.warning("job_failure_lost_race", category=category)
    else:
        logger.warning("job_failed", category=category, error=message)


def _handle_failure(job: JobContext, exc: Exception) -> None:
    kind = classify(exc)
    trace = traceback.format_exc()
    if kind.transient and job.attempt < job.max_attempts:
        delay = retry_delay(attempt=job.attempt, retry_after=kind.retry_after)
        next_retry_at = job._store.call(
            transitions.schedule_retry,
            job_id=str(job.job_id),
            attempt=job.attempt,
            delay_seconds=delay,
            category=kind.category,
            message=kind.message,
            traceback=trace,
            progress=job.take_pending_progress(),
        )
        if next_retry_at is not None:
            logger.info(
                "job_retry_scheduled",
                category=kind.category,
                error=kind.message,
                delay=round(delay, 3),
            )
            publish_job(
                job_id=str(job.job_id),
                job_type=job.job_type,
                stage=job.stage,
                priority=job.priority,
                account=account_of(user_id=job.user_id, project_id=job.project_id),
                countdown=delay,
            )
            return
        # Not retried: a cancel was requested meanwhile, or the job is no longer ours.
        _finish_cancelled(job)
        return
    message = kind.message
    if kind.transient:
        message = f"{message} (gave up after {job.attempt} attempts)"
    _finish_failed(
        job, category=kind.category, message=message, result=job.partial_result, trace=trace
    )


def _hand_off(job: JobContext, hand_off: HandOff) -> None:
    target = stage_task(job.job_type, hand_off.stage)
    progress = job.take_pending_progress()
    if hand_off.message is not None:
        progress = transitions.Progress(
            pct=progress.pct,
            message=hand_off.message,
            current=progress.current,
            total=progress.total,
        )
    moved = job._store.call(
        transitions.hand_off,
        job_id=str(job.job_id),
        attempt=job.attempt,
        stage=hand_off.stage,
        queue=target.queue,
        progress=progress,
    )
    if not moved:
        _finish_cancelled(job)
        return
    logger.info(
        "job_handed_off", next_stage=hand_off.stage, queue=target.queue, priority=job.priority.value
    )
    # The next stage keeps the job's priority and account (priorities.py).
    publish_job(
        job_id=str(job.job_id),
        job_type=job.job_type,
        stage=hand_off.stage,
        priority=job.priority,
        account=account_of(user_id=job.user_id, project_id=job.project_id),
    )
