"""Job statistics for the dashboard and operators: counts, success rate and durations from
the database; queue depths and message ages from the broker; workers from the shared ping.

Windows: counts cover jobs queued in the window; success rate, run time and pickup latency
cover jobs that finished in it (cancelled jobs count in neither side of the success rate).
Windows start at a whole hour and are read from the rollups (app.jobs.rollups), so a 30-day
window costs about what a 24-hour one does, whatever the number of jobs.
"""

import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from sqlmodel import Session, SQLModel

from app.core.celery_app import QUEUES
from app.core.config import settings
from app.core.db import utcnow
from app.core.logging import get_logger
from app.core.redis_client import redis_client
from app.health import service as health_service
from app.jobs.models import JobPriority, JobStatus
from app.jobs.rollups import HISTOGRAM_BUCKETS, fold, histogram_percentile, window_buckets
from app.projects.visibility import superuser_literal, visible_project_sql, visible_scope
from app.users.models import User

log = get_logger(__name__)

# kombu's Redis transport keeps a queue as a list per priority step: the queue's own name for
# priority 0 and "<queue>\x06\x16<step>" for the others. Publishers LPUSH, consumers BRPOP,
# so the oldest message of each list is its last element.
KOMBU_PRIORITY_SEPARATOR = "\x06\x16"
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)

# Header stamped on every task message at publish time (app.core.celery_app).
PUBLISHED_AT_HEADER = "published_at"


class DurationPercentiles(SQLModel):
    p50: float
    p95: float


class QueueStatsPublic(SQLModel):
    name: str
    depth: int | None  # None when the broker could not be read
    oldest_message_age_seconds: float | None


class WorkersPublic(SQLModel):
    online: int
    names: list[str]
    checked_at: datetime | None


class OldestWaitingPublic(SQLModel):
    """The job that has waited longest for a worker."""

    id: uuid.UUID
    job_type: str
    project_id: uuid.UUID | None
    queued_at: datetime
    waiting_seconds: float


class JobStatsPublic(SQLModel):
    window_hours: int
    since: datetime
    total: int
    by_status: dict[str, int]
    by_type: dict[str, dict[str, int]]
    active: int
    success_rate: float | None  # completed / (completed + failed); None with neither
    duration_seconds: DurationPercentiles | None  # run time of completed jobs
    pickup_latency_seconds: DurationPercentiles | None  # queued -> started
    queues: list[QueueStatsPublic]  # empty unless the caller is a superuser
    # Queues holding queued or retrying jobs that no live worker consumes (superusers only).
    queues_without_consumer: list[str]
    workers: WorkersPublic  # not checked (checked_at null) unless the caller is a superuser
    # Jobs waiting for a worker now (queued, or retrying and due), by priority.
    waiting_by_priority: dict[str, int]
    oldest_waiting_interactive: OldestWaitingPublic | None


def _window(table: str) -> str:
    """The scope's rollup rows of the window: hours up to the first whole day, then days;
    two index range scans on the primary key (scope, scope_id, grain, bucket_start)."""
    return f"""(
        SELECT * FROM {table} WHERE scope = :scope AND scope_id = :scope_id
            AND grain = 'hour' AND bucket_start >= :since AND bucket_start < :first_whole_day
        UNION ALL
        SELECT * FROM {table} WHERE scope = :scope AND scope_id = :scope_id
            AND grain = 'day' AND bucket_start >= :first_whole_day
    ) AS r"""  # noqa: S608 - composed of constants


_COUNTS = sa.text(f"""
    SELECT r.job_type, {", ".join(f"sum(r.{s.value})" for s in JobStatus)}
    FROM {_window("job_counts_rollup")}
    GROUP BY r.job_type
""")  # noqa: S608 - composed of constants


def _histogram(column: str) -> str:
    return ", ".join(f"sum(r.{column}[{i}])" for i in range(1, HISTOGRAM_BUCKETS + 1))


_FINISHES = sa.text(f"""
    SELECT sum(r.completed), sum(r.failed),
           {_histogram("run_seconds")}, {_histogram("pickup_seconds")}
    FROM {_window("job_finishes_rollup")}
""")  # noqa: S608 - composed of constants


def _active_sql(user: User) -> sa.TextClause:
    # The partial index of active jobs: small whatever the table's size.
    visible = visible_project_sql(
        "j.project_id", user_id=":user_id", superuser=superuser_literal(user)
    )
    return sa.text(f"""
        SELECT count(*) FROM job_runs AS j
        WHERE j.status IN ('queued', 'running', 'retrying') AND {visible}
          AND (CAST(:project_id AS uuid) IS NULL OR j.project_id = :project_id)
    """)  # noqa: S608 - composed of constants


def _waiting_sql(user: User, *, select: str, tail: str = "") -> sa.TextClause:
    # Waiting for a worker: queued (a hand-off too), or retrying and due. The partial index
    # of active jobs: small whatever the table's size.
    visible = visible_project_sql(
        "j.project_id", user_id=":user_id", superuser=superuser_literal(user)
    )
    return sa.text(f"""
        SELECT {select} FROM job_runs AS j
        WHERE (j.status = 'queued' OR (j.status = 'retrying' AND j.next_retry_at <= now()))
          AND {visible}
          AND (CAST(:project_id AS uuid) IS NULL OR j.project_id = :project_id)
        {tail}
    """)  # noqa: S608 - composed of constants


def waiting_jobs(
    *, session: Session, user: User, project_id: uuid.UUID | None = None
) -> tuple[dict[str, int], OldestWaitingPublic | None]:
    """Jobs the user may see that wait for a worker, by priority, and the interactive one
    that has waited longest."""
    params = {"user_id": user.id, "project_id": project_id}
    by_priority = dict.fromkeys((p.value for p in JobPriority), 0)
    counts = _waiting_sql(user, select="j.priority, count(*)", tail="GROUP BY j.priority")
    for priority, count in session.execute(counts, params):
        by_priority[str(priority)] = int(count)
    oldest = None
    if by_priority[JobPriority.interactive.value]:
        row = session.execute(
            _waiting_sql(
                user,
                select="j.id, j.job_type, j.project_id, j.queued_at, "
                "extract(epoch FROM now() - j.queued_at)",
                tail="AND j.priority = 'interactive' ORDER BY j.queued_at LIMIT 1",
            ),
            params,
        ).first()
        if row is not None:
            oldest = OldestWaitingPublic(
                id=row[0],
                job_type=row[1],
                project_id=row[2],
                queued_at=row[3],
                waiting_seconds=round(max(0.0, float(row[4])), 3),
            )
    return by_priority, oldest


def job_stats(
    *,
    session: Session,
    user: User,
    window: timedelta,
    project_id: uuid.UUID | None = None,
) -> JobStatsPublic:
    """Read from the rollups (app.jobs.rollups): the window starts at the whole hour `window`
    ago falls in (`since`), and percentiles come from histograms (within 19%)."""
    since, first_whole_day = window_buckets(utcnow() - window)
    # The project (already authorized by the caller), or everything the user may see.
    scope, scope_id = ("project", project_id) if project_id else visible_scope(user)
    params = {
        "since": since,
        "first_whole_day": first_whole_day,
        "scope": scope,
        "scope_id": scope_id,
        "user_id": user.id,
        "project_id": project_id,
    }
    fold(session.get_bind())
    by_status = {status.value: 0 for status in JobStatus}
    by_type: dict[str, dict[str, int]] = {}
    for job_type, *counts in session.execute(_COUNTS, params):
        per_status = {
            status.value: int(count)
            for status, count in zip(JobStatus, counts, strict=True)
            if count
        }
        for status, count in per_status.items():
            by_status[status] += count
        if per_status:
            by_type[job_type] = per_status
    finishes = session.execute(_FINISHES, params).one()
    completed, failed = int(finishes[0] or 0), int(finishes[1] or 0)
    run = [int(n or 0) for n in finishes[2 : 2 + HISTOGRAM_BUCKETS]]
    pickup = [int(n or 0) for n in finishes[2 + HISTOGRAM_BUCKETS :]]
    active = session.execute(_active_sql(user), params).scalar_one()
    waiting, oldest_interactive = waiting_jobs(session=session, user=user, project_id=project_id)
    finished = completed + failed
    return JobStatsPublic(
        window_hours=round(window.total_seconds() / 3600),
        since=since,
        total=sum(by_status.values()),
        by_status=by_status,
        by_type=dict(sorted(by_type.items())),
        active=active,
        success_rate=round(completed / finished, 4) if finished else None,
        duration_seconds=_percentiles(run),
        pickup_latency_seconds=_percentiles(pickup),
        # The platform's queues and worker host names are for operators only.
        queues=queue_stats() if user.is_superuser else [],
        queues_without_consumer=_queues_without_consumer(session) if user.is_superuser else [],
        workers=workers_online()
        if user.is_superuser
        else WorkersPublic(online=0, names=[], checked_at=None),
        waiting_by_priority=waiting,
        oldest_waiting_interactive=oldest_interactive,
    )


def _queues_without_consumer(session: Session) -> list[str]:
    from app.jobs.queues import queues_without_consumer  # it reads the broker through here

    return queues_without_consumer(session.connection())


def _percentiles(histogram: list[int]) -> DurationPercentiles | None:
    p50 = histogram_percentile(histogram, 0.5)
    p95 = histogram_percentile(histogram, 0.95)
    if p50 is None or p95 is None:
        return None
    return DurationPercentiles(p50=round(p50, 4), p95=round(p95, 4))


# --- Broker ------------------------------------------------------------------------------

_broker: "redis.Redis[bytes] | None" = None


def broker_client() -> "redis.Redis[bytes]":
    global _broker
    if _broker is None:
        _broker = redis_client(settings.broker_url, timeout=1.0)
    return _broker


def priority_keys(queue: str) -> list[str]:
    return [
        queue if step == 0 else f"{queue}{KOMBU_PRIORITY_SEPARATOR}{step}"
        for step in KOMBU_PRIORITY_STEPS
    ]


def queue_stats(queues: tuple[str, ...] = QUEUES) -> list[QueueStatsPublic]:
    """Depth (LLEN over the priority lists) and the age of the oldest waiting message."""
    try:
        with broker_client().pipeline(transaction=False) as pipe:
            for queue in queues:
                for key in priority_keys(queue):
                    pipe.llen(key)
                    pipe.lindex(key, -1)
            replies = pipe.execute()
    except redis.RedisError as exc:
        log.warning("queue_stats_unavailable", error=f"{type(exc).__name__}: {exc}")
        return [
            QueueStatsPublic(name=q, depth=None, oldest_message_age_seconds=None) for q in queues
        ]
    now = time.time()
    stats = []
    per_queue = 2 * len(KOMBU_PRIORITY_STEPS)
    for index, queue in enumerate(queues):
        chunk = replies[index * per_queue : (index + 1) * per_queue]
        depth = sum(int(length) for length in chunk[0::2])
        published = [t for t in map(published_at, chunk[1::2]) if t is not None]
        age = round(max(0.0, now - min(published)), 3) if published else None
        stats.append(QueueStatsPublic(name=queue, depth=depth, oldest_message_age_seconds=age))
    return stats


def published_at(raw_message: bytes | None) -> float | None:
    """The publish time (epoch seconds) stamped in a kombu message's headers, if any."""
    if raw_message is None:
        return None
    try:
        envelope: Any = json.loads(raw_message)
        value = envelope["headers"][PUBLISHED_AT_HEADER]
        return float(value)
    except (ValueError, TypeError, KeyError):
        return None


# --- Workers ---------------------------------------------------------------------------


def workers_online() -> WorkersPublic:
    """Workers answering the ping that readiness shares (app/health/service.py)."""
    ping = health_service.ping_workers()
    return WorkersPublic(online=len(ping.names), names=list(ping.names), checked_at=ping.checked_at)
