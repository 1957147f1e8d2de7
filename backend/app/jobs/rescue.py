"""The rescue sweep (Beat, every minute): nothing stays `queued` or `running` forever.

- Queued with no claim for JOB_REQUEUE_AFTER_SECONDS, or retrying and overdue by the same
  margin: published again if its message is gone (Redis lost it, or the broker was down at
  start); a message still in the broker is left alone, so Redis never holds two for one job.
- Waiting for JOB_QUEUE_STALL_SECONDS in a queue that no live worker consumes: `failed` with
  category queue_stalled, naming the queue.
- Running with an expired lease (its worker died): made `retrying` and published again while
  attempts remain, else `failed` with category worker_lost, "worker lost". A pending cancel
  request ends it `cancelled` instead.

Each step is one compare-and-set UPDATE ... RETURNING (the terminal ones append their
`job_events` rows in the same statement, outbox.py) (the waiting jobs are locked, SKIP
LOCKED, while their messages are checked and published), so two sweeps running at once (two
Beats) split the work rather than doubling it, and an extra message is harmless anyway: the
claim refuses a job that is not claimable.
"""

import uuid
from dataclasses import dataclass, field

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.celery_app import QUEUES
from app.core.config import settings
from app.core.db import engine
from app.core.logging import get_logger
from app.core.redis_client import redis_client
from app.jobs import priorities, queues
from app.jobs.dispatch import publish_job
from app.jobs.models import JobEventKind
from app.jobs.outbox import with_job_event
from app.jobs.priorities import account_of
from app.jobs.stats import broker_client

logger = get_logger(__name__)

RESCUE_BATCH = 1000

# Waiting: queued, or retrying and overdue, for longer than the requeue margin. `waited` is
# how long it has been in its queue (since it was queued, handed off or due to retry).
_WAITING_EXISTS = sa.text("""
    SELECT EXISTS (SELECT 1 FROM job_runs WHERE (status = 'queued'
        AND updated_at < now() - make_interval(secs => :after))
       OR (status = 'retrying' AND next_retry_at < now() - make_interval(secs => :after)))
""")

_WAITING = sa.text("""
    SELECT id, job_type, stage, queue,
        extract(epoch FROM now() - GREATEST(updated_at, COALESCE(next_retry_at, updated_at))),
        priority, user_id, project_id
    FROM job_runs
    WHERE (status = 'queued'
           AND updated_at < now() - make_interval(secs => :after))
       OR (status = 'retrying'
           AND next_retry_at < now() - make_interval(secs => :after)
           AND updated_at < now() - make_interval(secs => :after))
    ORDER BY queued_at
    LIMIT :batch
    FOR UPDATE SKIP LOCKED
""")

_FAIL_STALLED = sa.text(
    with_job_event(
        """
    UPDATE job_runs SET status = 'failed', finished_at = now(), lease_expires_at = NULL,
        next_retry_at = NULL, error_category = 'queue_stalled', error_message = :message,
        updated_at = now()
    WHERE id = ANY(:ids) AND status IN ('queued', 'retrying')
""",
        event=JobEventKind.failed,
        returning="id",
        columns="id",
    )
)

_CANCEL_ABANDONED = sa.text(
    with_job_event(
        """
    UPDATE job_runs SET status = 'cancelled', finished_at = now(), lease_expires_at = NULL,
        error_category = 'cancelled', error_message = 'cancelled by request', updated_at = now()
    WHERE status = 'running' AND lease_expires_at < now() AND cancel_requested_at IS NOT NULL
""",
        event=JobEventKind.cancelled,
        returning="id",
        columns="id",
    )
)

_RETRY_ABANDONED = sa.text("""
    UPDATE job_runs SET status = 'retrying', next_retry_at = now(), lease_expires_at = NULL,
        error_category = 'worker_lost', error_message = 'worker lost', updated_at = now()
    WHERE id IN (
        SELECT id FROM job_runs
        WHERE status = 'running' AND lease_expires_at < now() AND attempts < max_attempts
        ORDER BY lease_expires_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, job_type, stage, priority, user_id, project_id
""")

_FAIL_ABANDONED = sa.text(
    with_job_event(
        """
    UPDATE job_runs SET status = 'failed', finished_at = now(), lease_expires_at = NULL,
        error_category = 'worker_lost',
        error_message = 'worker lost (no attempts left)', updated_at = now()
    WHERE status = 'running' AND lease_expires_at < now() AND attempts >= max_attempts
""",
        event=JobEventKind.failed,
        returning="id",
        columns="id",
    )
)


@dataclass
class SweepReport:
    republished: list[str] = field(default_factory=list)
    rescued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    stalled: list[str] = field(default_factory=list)
    unpublished: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "republished": len(self.republished),
            "rescued": len(self.rescued),
            "failed_worker_lost": len(self.failed),
            "failed_queue_stalled": len(self.stalled),
            "cancelled": len(self.cancelled),
            "publish_failures": self.unpublished,
        }


_FOLD_DELTAS = sa.text("SELECT job_rollups_fold(false)")


def sweep_stalled_jobs(
    *,
    requeue_after_seconds: float | None = None,
    stall_after_seconds: float | None = None,
    connection: Connection | None = None,
) -> SweepReport:
    """One pass of the sweep; safe to run concurrently and as often as wanted."""
    after = float(
        settings.JOB_REQUEUE_AFTER_SECONDS
        if requeue_after_seconds is None
        else requeue_after_seconds
    )
    stall_after = float(
        settings.JOB_QUEUE_STALL_SECONDS if stall_after_seconds is None else stall_after_seconds
    )
    if connection is None:
        with engine.connect() as own:
            return sweep_stalled_jobs(
                requeue_after_seconds=after, stall_after_seconds=stall_after, connection=own
            )
    report = SweepReport()
    with connection.begin():
        report.cancelled = [str(r[0]) for r in connection.execute(_CANCEL_ABANDONED)]
        report.failed = [str(r[0]) for r in connection.execute(_FAIL_ABANDONED)]
        rescued = connection.execute(_RETRY_ABANDONED, {"batch": RESCUE_BATCH}).all()
    # The rollups' pending deltas, so they stay few even when nothing reads the rollups
    # (skipped when a read is folding them right now).
    with connection.begin():
        connection.execute(_FOLD_DELTAS)
    # Published after the commit, like every dispatch: a worker must find the row claimable.
    for job_id, job_type, stage, priority, user_id, project_id in rescued:
        report.rescued.append(str(job_id))
        account = account_of(user_id=user_id, project_id=project_id)
        report.unpublished += not _publish(str(job_id), job_type, stage, priority, account)
    _sweep_waiting(connection, report, after=after, stall_after=stall_after)
    _forget_not_waiting(connection)
    if any(report.as_dict().values()):
        logger.warning("job_sweep", **report.as_dict())
        _count_rescues(report)
    return report


def _sweep_waiting(
    connection: Connection, report: SweepReport, *, after: float, stall_after: float
) -> None:
    with connection.begin():
        if not connection.execute(_WAITING_EXISTS, {"after": after}).scalar_one():
            return
    # Asked before the rows are locked: the broadcast waits its whole timeout.
    consumers = queues.live_consumers()
    with connection.begin():
        waiting = connection.execute(_WAITING, {"after": after, "batch": RESCUE_BATCH}).all()
        if not waiting:
            return
        consumed = None if consumers is None else queues.consumed_queues(connection, consumers)
        stalled: dict[str, list[uuid.UUID]] = {}
        republish = []
        present = queues.queued_messages(broker_client(), sorted({str(row[3]) for row in waiting}))
        for job_id, job_type, stage, queue, waited, priority, user_id, project_id in waiting:
            unconsumed = consumed is not None and queue not in consumed
            if unconsumed and stall_after and float(waited) >= stall_after:
                stalled.setdefault(queue, []).append(job_id)
                continue
            if not present.holds(job_id=str(job_id), queue=queue):
                account = account_of(user_id=user_id, project_id=project_id)
                republish.append((str(job_id), job_type, stage, priority, account))
        for queue, ids in stalled.items():
            message = (
                f"no worker consumes the {queue!r} queue: waited over "
                f"{_duration(stall_after)} (JOB_QUEUE_STALL_SECONDS)"
            )
            failed = connection.execute(_FAIL_STALLED, {"ids": ids, "message": message})
            report.stalled.extend(str(row[0]) for row in failed)
            logger.error("job_queue_stalled", queue=queue, jobs=len(ids))
        # Published while the rows are locked: a second sweep cannot publish them too, and a
        # worker's claim waits the moment it takes for this transaction to end.
        for job_id, job_type, stage, priority, account in republish:
            report.republished.append(job_id)
            report.unpublished += not _publish(job_id, job_type, stage, priority, account)


_STILL_WAITING = sa.text("""
    SELECT CAST(id AS text) FROM job_runs
    WHERE id = ANY(CAST(:ids AS uuid[])) AND status IN ('queued', 'retrying')
""")


def _forget_not_waiting(connection: Connection) -> None:
    """Drops the fairness marks (priorities.py) of jobs that no longer wait: cancelled while
    queued, failed as stalled, deleted with their project. Claims clear the others."""
    try:
        marks = priorities.fairness()
        for queue in QUEUES:
            marked = list(marks.waiting(queue))
            if not marked:
                continue
            with connection.begin():
                waiting = {str(r[0]) for r in connection.execute(_STILL_WAITING, {"ids": marked})}
            gone = [job_id for job_id in marked if job_id not in waiting]
            if gone:
                marks.unmark_waiting(queue=queue, job_ids=gone)
                logger.info("job_fair_marks_dropped", queue=queue, jobs=len(gone))
    except redis.RedisError as exc:
        logger.warning("job_fair_marks_unavailable", error=repr(exc))


def _duration(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


# Totals of the sweep's actions, for /metrics (app/jobs/exporter.py). Kept in Redis because
# sweeps run in any worker process on any host; rare events, so the cost is nil.
RESCUE_TOTALS_KEY = "jobs:rescue_totals"


def _count_rescues(report: SweepReport) -> None:
    try:
        client = redis_client(timeout=2)
        with client.pipeline(transaction=False) as pipe:
            for name, count in report.as_dict().items():
                if count:
                    pipe.hincrby(RESCUE_TOTALS_KEY, name, count)
            pipe.execute()
        client.close()
    except redis.RedisError as exc:
        logger.warning("job_rescue_totals_unavailable", error=repr(exc))


def rescue_totals() -> dict[str, int]:
    """Jobs the sweep republished, rescued (re-dispatched after a lost worker), failed as
    worker lost or cancelled, since Redis was last emptied: counters for /metrics."""
    client = redis_client(timeout=2)
    try:
        raw = client.hgetall(RESCUE_TOTALS_KEY)
    finally:
        client.close()
    totals = dict.fromkeys(SweepReport().as_dict(), 0)
    totals.update({key.decode(): int(value) for key, value in raw.items()})
    return totals


def _publish(job_id: str, job_type: str, stage: str, priority: str, account: str) -> bool:
    # At the job's own priority and account, like every publish (priorities.py).
    try:
        return publish_job(
            job_id=job_id, job_type=job_type, stage=stage, priority=priority, account=account
        )
    except LookupError as exc:
        # A stage no deployed code knows; the next sweep tries again after a deploy.
        logger.error("job_sweep_unknown_stage", job_id=job_id, error=str(exc))
        return False
