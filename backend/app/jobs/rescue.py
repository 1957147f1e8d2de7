"""The rescue sweep (Beat, every minute): nothing stays `queued` or `running` forever.

- Queued with no claim for JOB_REQUEUE_AFTER_SECONDS (Redis lost the message, or the broker
  was down at start): published again.
- Retrying and overdue by the same margin (the delayed message was lost): published again.
- Running with an expired lease (its worker died): made `retrying` and published again while
  attempts remain, else `failed` with category worker_lost, "worker lost". A pending cancel
  request ends it `cancelled` instead.

Each step is one compare-and-set UPDATE ... RETURNING, so two sweeps running at once (two
Beats) split the work rather than doubling it, and an extra message is harmless anyway: the
claim refuses a job that is not claimable.
"""

from dataclasses import dataclass, field

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from app.core.config import settings
from app.core.db import engine
from app.core.logging import get_logger
from app.jobs.dispatch import publish_job

logger = get_logger(__name__)

RESCUE_BATCH = 1000

_REQUEUE_WAITING = sa.text("""
    UPDATE job_runs SET updated_at = now()
    WHERE id IN (
        SELECT id FROM job_runs
        WHERE (status = 'queued'
               AND updated_at < now() - make_interval(secs => :after))
           OR (status = 'retrying'
               AND next_retry_at < now() - make_interval(secs => :after)
               AND updated_at < now() - make_interval(secs => :after))
        ORDER BY queued_at
        LIMIT :batch
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, job_type, stage
""")

_CANCEL_ABANDONED = sa.text("""
    UPDATE job_runs SET status = 'cancelled', finished_at = now(), lease_expires_at = NULL,
        error_category = 'cancelled', error_message = 'cancelled by request', updated_at = now()
    WHERE status = 'running' AND lease_expires_at < now() AND cancel_requested_at IS NOT NULL
    RETURNING id
""")

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
    RETURNING id, job_type, stage
""")

_FAIL_ABANDONED = sa.text("""
    UPDATE job_runs SET status = 'failed', finished_at = now(), lease_expires_at = NULL,
        error_category = 'worker_lost',
        error_message = 'worker lost (no attempts left)', updated_at = now()
    WHERE status = 'running' AND lease_expires_at < now() AND attempts >= max_attempts
    RETURNING id
""")


@dataclass
class SweepReport:
    republished: list[str] = field(default_factory=list)
    rescued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)
    unpublished: int = 0

    def as_dict(self) -> dict[str, int]:
        return {
            "republished": len(self.republished),
            "rescued": len(self.rescued),
            "failed_worker_lost": len(self.failed),
            "cancelled": len(self.cancelled),
            "publish_failures": self.unpublished,
        }


_FOLD_DELTAS = sa.text("SELECT job_rollups_fold(false)")


def sweep_stalled_jobs(
    *, requeue_after_seconds: float | None = None, connection: Connection | None = None
) -> SweepReport:
    """One pass of the sweep; safe to run concurrently and as often as wanted."""
    after = float(
        settings.JOB_REQUEUE_AFTER_SECONDS
        if requeue_after_seconds is None
        else requeue_after_seconds
    )
    if connection is None:
        with engine.connect() as own:
            return sweep_stalled_jobs(requeue_after_seconds=after, connection=own)
    report = SweepReport()
    with connection.begin():
        report.cancelled = [str(r[0]) for r in connection.execute(_CANCEL_ABANDONED)]
        report.failed = [str(r[0]) for r in connection.execute(_FAIL_ABANDONED)]
        rescued = connection.execute(_RETRY_ABANDONED, {"batch": RESCUE_BATCH}).all()
        waiting = connection.execute(
            _REQUEUE_WAITING, {"after": after, "batch": RESCUE_BATCH}
        ).all()
    # The rollups' pending deltas, so they stay few even when nothing reads the rollups
    # (skipped when a read is folding them right now).
    with connection.begin():
        connection.execute(_FOLD_DELTAS)
    # Published after the commit, like every dispatch: a worker must find the row claimable.
    for job_id, job_type, stage in rescued:
        report.rescued.append(str(job_id))
        report.unpublished += not _publish(str(job_id), job_type, stage)
    for job_id, job_type, stage in waiting:
        report.republished.append(str(job_id))
        report.unpublished += not _publish(str(job_id), job_type, stage)
    if any(report.as_dict().values()):
        logger.warning("job_sweep", **report.as_dict())
        _count_rescues(report)
    return report


# Totals of the sweep's actions, for /metrics (app/jobs/exporter.py). Kept in Redis because
# sweeps run in any worker process on any host; rare events, so the cost is nil.
RESCUE_TOTALS_KEY = "jobs:rescue_totals"


def _count_rescues(report: SweepReport) -> None:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
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
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2)
    try:
        raw = client.hgetall(RESCUE_TOTALS_KEY)
    finally:
        client.close()
    totals = dict.fromkeys(SweepReport().as_dict(), 0)
    totals.update({key.decode(): int(value) for key, value in raw.items()})
    return totals


def _publish(job_id: str, job_type: str, stage: str) -> bool:
    try:
        return publish_job(job_id=job_id, job_type=job_type, stage=stage)
    except LookupError as exc:
        # A stage no deployed code knows; the next sweep tries again after a deploy.
        logger.error("job_sweep_unknown_stage", job_id=job_id, error=str(exc))
        return False
