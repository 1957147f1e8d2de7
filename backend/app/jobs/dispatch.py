"""A job's messages: publishing it (always after its row is committed, with the job id as the
Celery task id) and revoking it.

`publish_after_commit` ties the publish to the transaction that records the job: the message
goes out when that transaction commits, and never when it rolls back, so a domain can record
its own rows with the job (same transaction) and no worker ever sees the job before them.

Broker down: publishing fails fast (a short retry policy), the failure is logged and the job
simply stays `queued` (or `retrying`); the rescue sweep publishes it again once the broker is
back. The caller (an API route) still answers 202 with the job: the row is the promise, the
message is only a wake-up call, and the claim makes an extra message harmless.
"""

import threading
import uuid
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery, Task
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.core.celery_app import celery_app
from app.core.logging import get_logger
from app.jobs.models import JobPriority
from app.jobs.priorities import ACCOUNT_HEADER, PRIORITY_HEADER, fairness, message_priority

logger = get_logger(__name__)

# Fail fast when Redis is unreachable: the sweep is the retry.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0.1, "interval_step": 0.1}


@dataclass(frozen=True, slots=True)
class StageTask:
    task: Task  # type: ignore[type-arg]

    @property
    def queue(self) -> str:
        # Resolved when publishing, not at import: routes may be configured after the task.
        return queue_of(self.task.name)


_stage_tasks: dict[tuple[str, str], StageTask] = {}
_retry_stages: dict[tuple[str, str], str] = {}
_task_modules_imported = False
_task_modules_lock = threading.Lock()


def register_stage(
    job_type: str,
    stage: str,
    task: Task,  # type: ignore[type-arg]
    *,
    retry_from: str | None = None,
) -> None:
    _stage_tasks[(job_type, stage)] = StageTask(task=task)
    _retry_stages[(job_type, stage)] = retry_from or stage


def retry_stage(job_type: str, stage: str) -> str:
    """Where a retried job starts again when the original ended in `stage`."""
    stage_task(job_type, stage)  # imports the task modules if needed
    return _retry_stages.get((job_type, stage), stage)


def _import_task_modules() -> None:
    # Importing a domain's tasks module registers its stages (once per process). Concurrent
    # first starts (an API process's first requests) wait for that one import: the flag is set
    # only once it is done, or they would look up stages not registered yet.
    global _task_modules_imported
    if not _task_modules_imported:
        with _task_modules_lock:
            if not _task_modules_imported:
                celery_app.loader.import_default_modules()
                _task_modules_imported = True


def stage_task(job_type: str, stage: str) -> StageTask:
    """The task that runs `stage` of jobs of `job_type` (importing the task modules once)."""
    found = _stage_tasks.get((job_type, stage))
    if found is None:
        _import_task_modules()
        found = _stage_tasks.get((job_type, stage))
    if found is None:
        raise LookupError(f"no task registered for stage {stage!r} of {job_type} jobs")
    return found


def registered_job_types() -> frozenset[str]:
    """The job types with a task for at least one stage: the ones that can run."""
    _import_task_modules()
    return frozenset(job_type for job_type, _ in _stage_tasks)


_queues: dict[str, str] = {}


def queue_of(task_name: str) -> str:
    """The queue Celery routes `task_name` to (asked once per task: routes are set when the
    app is configured, before anything is published)."""
    queue_name = _queues.get(task_name)
    if queue_name is None:
        route = celery_app.amqp.router.route({}, task_name)
        queue = route.get("queue")
        queue_name = str(getattr(queue, "name", queue or celery_app.conf.task_default_queue))
        _queues[task_name] = queue_name
    return queue_name


def publish_job(
    *,
    job_id: str,
    job_type: str,
    stage: str,
    priority: JobPriority | str,
    account: str,
    countdown: float | None = None,
    front: bool = False,
    app: Celery | None = None,
) -> bool:
    """Sends the job's message at the job's priority, with its priority and fairness account
    in the headers (priorities.py); False (logged) when the broker cannot take it. A message
    for now marks the job waiting for the fairness counts (a deferred one is still marked,
    a retry's is marked by nothing until it is due and claimed). `front`: at the highest
    priority step whatever the job's (fairness hands a free slot to another account)."""
    target = stage_task(job_type, stage)
    options: dict[str, Any] = {
        "task_id": job_id,
        "queue": target.queue,
        "retry_policy": PUBLISH_RETRY_POLICY,
        "priority": 0 if front else message_priority(priority),
        "headers": {PRIORITY_HEADER: str(priority), ACCOUNT_HEADER: account},
    }
    if countdown:
        options["countdown"] = countdown
    elif account:
        try:
            fairness().mark_waiting(queue=target.queue, job_id=job_id, account=account)
        except redis.RedisError as exc:
            # The publish below most likely fails too; the sweep publishes (and marks) again.
            logger.warning("job_mark_waiting_failed", job_id=job_id, error=repr(exc))
    try:
        if app is None:
            target.task.apply_async(args=(job_id,), **options)
        else:
            app.send_task(target.task.name, args=(job_id,), **options)
    except Exception as exc:
        # Left for the sweep: the row stays queued/retrying and is published again later.
        logger.warning(
            "job_publish_failed", job_id=job_id, stage=stage, error=f"{type(exc).__name__}: {exc}"
        )
        return False
    return True


@dataclass(frozen=True, slots=True)
class _PendingPublish:
    job_id: str
    job_type: str
    stage: str
    priority: JobPriority
    account: str


# Messages waiting for their session's transaction to commit, in Session.info.
_PENDING_KEY = "jobs.publish_after_commit"


def publish_after_commit(
    *,
    session: Session,
    job_id: uuid.UUID,
    job_type: str,
    stage: str,
    priority: JobPriority,
    account: str,
) -> None:
    """Publishes the job once the session's current transaction commits; if it rolls back (or
    the session closes without committing) nothing is published. (A savepoint rolled back
    inside a committed transaction still lets the message go: it finds no job to claim.)"""
    session.info.setdefault(_PENDING_KEY, []).append(
        _PendingPublish(
            job_id=str(job_id), job_type=job_type, stage=stage, priority=priority, account=account
        )
    )


@event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    # Fired for the outermost transaction only, after the database has committed it.
    pending: list[_PendingPublish] | None = session.info.pop(_PENDING_KEY, None)
    for job in pending or ():
        publish_job(
            job_id=job.job_id,
            job_type=job.job_type,
            stage=job.stage,
            priority=job.priority,
            account=job.account,
        )


@event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    # A committed transaction has published its jobs already (after_commit comes first);
    # what is left belonged to one that rolled back or was closed: those rows do not exist.
    if transaction.parent is None:
        session.info.pop(_PENDING_KEY, None)


def revoke_job(job_id: uuid.UUID) -> None:
    """Tells the workers to drop the job's waiting message. Only saves a worker the claim
    attempt (the claim would refuse a cancelled job anyway), so a failure is logged only."""
    try:
        celery_app.control.revoke(str(job_id))
    except Exception as exc:
        logger.warning("job_revoke_failed", job_id=str(job_id), error=repr(exc))
