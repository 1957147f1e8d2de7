"""Task bodies of the job benchmarks, loaded by the benchmark worker (`-I bench.job_tasks`).

- `bench.raw_noop`: a plain Celery task doing nothing (the ceiling).
- `bench.tracked_trivial`: a tracked job through the runtime, with a trivial body (its
  config's `hold_seconds`, if any, keeps its worker slot that long: a body that waits).
- `bench.seed_style`: the seed's design: an ORM session per lifecycle event (started,
  each progress call, finished), each loading the row and committing.

Every process counts the SQL statements and transactions it sends (a counting cursor on
every psycopg connection, pooled or the runtime's own) and adds them to a Redis hash when it
exits, so the benchmark can report statements per job.
"""

import time
import uuid
from collections import Counter
from typing import Any

import psycopg
import redis
import sqlalchemy as sa
from celery import signals
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.core.celery_app import celery_app
from app.core.config import settings
from app.core.db import engine, utcnow
from app.jobs.models import JobRun, JobStatus
from app.jobs.runtime import JobContext, _Store, tracked_task

SQL_COUNTS_KEY = "bench:sql"
PICKUP_KEY = "bench:pickup"
sql_counts: Counter[str] = Counter()


class _CountingCursor(psycopg.Cursor[Any]):
    """Counts every statement sent, whoever sends it (SQLAlchemy or the runtime's own
    connections); on an autocommit connection each statement is also a commit."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        sql_counts["statements"] += 1
        if self.connection.autocommit:
            sql_counts["commits"] += 1
        return super().execute(*args, **kwargs)


@event.listens_for(Engine, "connect")
def _count_on_pooled_connection(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.cursor_factory = _CountingCursor


@event.listens_for(Engine, "commit")
def _count_commit(connection: Any) -> None:
    # Commits of transactions that did something (an autocommit connection's statements
    # are counted by the cursor).
    driver = connection.connection.driver_connection
    if driver.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS:
        sql_counts["commits"] += 1


def _counting_connect(self: _Store, *, durable: bool) -> psycopg.Connection[Any]:
    connection = _real_connect(self, durable=durable)
    connection.cursor_factory = _CountingCursor
    return connection


_real_connect = _Store._connect
_Store._connect = _counting_connect  # type: ignore[method-assign]


def flush_sql_counts(client: "redis.Redis[bytes] | None" = None) -> None:
    own = client is None
    client = client or redis.Redis.from_url(settings.REDIS_URL)
    for name, count in sql_counts.items():
        client.hincrby(SQL_COUNTS_KEY, name, count)
    sql_counts.clear()
    if own:
        client.close()


@signals.worker_process_shutdown.connect
def _flush_on_exit(**_: Any) -> None:
    flush_sql_counts()


@celery_app.task(name="bench.raw_noop", ignore_result=True)
def raw_noop(sent_at: float | None = None) -> None:
    if sent_at is not None:
        _record_pickup(sent_at)


@tracked_task(job_type="maintenance", stage="bench_trivial", name="bench.tracked_trivial")
def tracked_trivial(job: JobContext) -> dict[str, Any]:
    sent_at = job.config.get("sent_at")
    if sent_at is not None:
        _record_pickup(float(sent_at))
    hold = job.config.get("hold_seconds")
    if hold:
        time.sleep(float(hold))  # stands for a body blocked on something outside
    return {}


_pickup_redis: "redis.Redis[bytes] | None" = None


def _record_pickup(sent_at: float) -> None:
    global _pickup_redis
    now = time.time()
    if _pickup_redis is None:
        _pickup_redis = redis.Redis.from_url(settings.REDIS_URL)
    _pickup_redis.rpush(PICKUP_KEY, f"{now - sent_at:.6f}")


def _seed_load(session: Session, job_id: str) -> JobRun:
    job = session.get(JobRun, uuid.UUID(job_id))
    assert job is not None
    return job


@celery_app.task(name="bench.seed_style", bind=True, ignore_result=True)
def seed_style(self: Any, job_id: str) -> None:
    """The seed's task: mark running, report progress, mark completed, each in its own
    session (and the seed's task also kept Celery's result)."""
    with Session(engine) as session:
        job = _seed_load(session, job_id)
        job.status = JobStatus.running
        job.started_at = utcnow()
        job.attempts += 1
        session.add(job)
        session.commit()
    for pct in (10.0, 100.0):
        with Session(engine) as session:
            job = _seed_load(session, job_id)
            job.progress_pct = pct
            job.updated_at = utcnow()
            session.add(job)
            session.commit()
    with Session(engine) as session:
        job = _seed_load(session, job_id)
        job.status = JobStatus.completed
        job.finished_at = utcnow()
        job.result_json = {}
        session.add(job)
        session.commit()
        session.refresh(job)


def seed_start(session: Session) -> JobRun:
    job = JobRun(job_type="maintenance", stage="bench_seed", queue="default")
    session.add(job)
    session.commit()
    session.refresh(job)
    seed_style.apply_async(args=(str(job.id),), task_id=str(job.id))
    return job


def completed_count() -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM job_runs WHERE status = 'completed'")
            ).scalar_one()
        )


def any_job_active() -> bool:
    """Cheap enough to poll every 10 ms (the partial index on active jobs answers it), so the
    measuring does not take CPU from the run it measures."""
    with engine.connect() as connection:
        return bool(
            connection.execute(
                sa.text(
                    "SELECT EXISTS (SELECT 1 FROM job_runs "
                    "WHERE status IN ('queued', 'running', 'retrying'))"
                )
            ).scalar_one()
        )


def reset_jobs() -> None:
    with engine.begin() as connection:
        connection.execute(sa.text("TRUNCATE job_runs CASCADE"))
