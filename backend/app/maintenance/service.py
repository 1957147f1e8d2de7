"""Retention clean-up and the platform health check, both run as tracked maintenance jobs.

Domains add their tables to the clean-up in their declaration (`retention` in domain.py:
audits keep their runs for AUDIT_RETENTION_DAYS, ...); each rule deletes in bounded batches
so one run never holds long locks, and the job reports real progress: rows deleted per rule.
"""

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core.config import settings
from app.core.db import utcnow
from app.core.domains import declared_domains
from app.core.domains import retention_rules as declared_retention_rules
from app.health import service as health_service
from app.jobs.models import JobPriority, JobRun, JobStatus
from app.jobs.service import day_dedupe_key, start_job
from app.maintenance.domain import MAINTENANCE_JOB, OPTIMIZE_DB_JOB
from app.users.models import User

DELETE_BATCH = 5000


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """`purge(session, batch)` deletes at most `batch` expired items and returns how many.

    `batch` is in the rule's own unit: rows for most, whole audits (each thousands of rows)
    for the audits' rule. None takes the clean-up's row batch."""

    name: str
    purge: Callable[[Session, int], int]
    batch: int | None = None


_FINISHED_JOBS = sa.text("""
    DELETE FROM job_runs WHERE id IN (
        SELECT id FROM job_runs
        WHERE (status IN ('completed', 'cancelled')
               AND finished_at < now() - make_interval(days => :days))
           OR (status = 'failed'
               AND finished_at < now() - make_interval(days => :failed_days))
        LIMIT :batch
    )
""")


def _purge_finished_jobs(session: Session, batch: int) -> int:
    result = session.execute(
        _FINISHED_JOBS,
        {
            "days": settings.JOB_RETENTION_DAYS,
            "failed_days": settings.FAILED_JOB_RETENTION_DAYS,
            "batch": batch,
        },
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def retention_rules() -> list[RetentionRule]:
    """Finished jobs first, then every rule the domains declare."""
    rules = [RetentionRule("job_runs", _purge_finished_jobs)]
    for name, spec in declared_retention_rules(declared_domains()).items():
        module, _, function = spec.purge.rpartition(".")
        purge = getattr(importlib.import_module(module), function)
        rules.append(RetentionRule(name, purge, batch=spec.batch))
    return rules


def cleanup_old_data(
    *,
    session: Session,
    on_progress: Callable[[int, int, str], None] | None = None,
    batch: int = DELETE_BATCH,
) -> dict[str, int]:
    """Deletes everything past its retention; returns rows deleted per rule.

    `on_progress(rules_done, rules_total, message)` is called after every batch (the job's
    progress and cancellation checkpoint)."""
    deleted: dict[str, int] = {}
    rules = retention_rules()
    for done, rule in enumerate(rules):
        deleted[rule.name] = 0
        rule_batch = rule.batch or batch
        while True:
            count = rule.purge(session, rule_batch)
            session.commit()
            deleted[rule.name] += count
            if on_progress is not None:
                on_progress(done, len(rules), f"{rule.name}: {deleted[rule.name]} deleted")
            # A short batch (in the rule's unit) means nothing expired is left.
            if count < rule_batch:
                break
    return deleted


def health_check() -> dict[str, Any]:
    """Database and Redis reachability."""
    database = health_service.check_database()
    redis = health_service.check_redis()
    return {
        "ok": database.ok and redis.ok,
        "database": {"ok": database.ok, "detail": database.detail},
        "redis": {"ok": redis.ok, "detail": redis.detail},
    }


CLEANUP_STAGE = "cleanup"
HEALTH_CHECK_STAGE = "health_check"


def start_cleanup_job(
    *, session: Session, user: User | None, scheduled: bool = False
) -> tuple[JobRun, bool]:
    """Starts the clean-up (one active at a time; one a day when `scheduled` by Beat)."""
    key = day_dedupe_key(MAINTENANCE_JOB, CLEANUP_STAGE) if scheduled else CLEANUP_STAGE
    return start_job(
        session=session,
        job_type=MAINTENANCE_JOB,
        stage=CLEANUP_STAGE,
        project=None,
        user=user,
        priority=JobPriority.bulk,  # retention: nobody waits for it
        config={"task": CLEANUP_STAGE},
        dedupe_key=key,
        once=scheduled,
    )


def start_health_check_job(*, session: Session, user: User | None) -> tuple[JobRun, bool]:
    return start_job(
        session=session,
        job_type=MAINTENANCE_JOB,
        stage=HEALTH_CHECK_STAGE,
        project=None,
        user=user,
        priority=JobPriority.interactive if user is not None else JobPriority.scheduled,
        config={"task": HEALTH_CHECK_STAGE},
        dedupe_key=HEALTH_CHECK_STAGE,
    )


OPTIMIZE_DB_STAGE = "optimize_db"
SCHEDULED_ON = "scheduled_on"  # config key: the UTC day Beat started the run for
_ACTIVE = (JobStatus.queued, JobStatus.running, JobStatus.retrying)


def start_optimize_db_job(
    *,
    session: Session,
    user: User | None,
    scheduled: bool = False,
    tables: list[str] | None = None,
) -> tuple[JobRun, bool]:
    """Starts the database optimization (VACUUM (ANALYZE) of the large tables, optimize.py),
    or returns the one already active, whoever started it: two VACUUMs of the same table
    would only queue behind each other's lock. When `scheduled` by Beat, once a UTC day
    (Beat fires on Sundays only), however many Beats fire.

    `tables` narrows it to those tables (default: every declared large table, read when the
    job runs)."""
    # Every optimization, however started and retried (a retry keeps the key), holds the one
    # active-only dedupe key, so the unique index of active keys lets one run at a time. Beat's
    # once-a-day is the day written in the config, looked for under an advisory lock that
    # serializes all starts; the lock ends with the transaction.
    session.execute(
        sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": OPTIMIZE_DB_JOB},
    )
    active = session.exec(
        select(JobRun).where(
            JobRun.dedupe_key == OPTIMIZE_DB_STAGE, col(JobRun.status).in_(_ACTIVE)
        )
    ).first()
    today = utcnow().date().isoformat()
    if active is None and scheduled:
        active = session.exec(
            select(JobRun)
            .where(
                JobRun.job_type == OPTIMIZE_DB_JOB,
                col(JobRun.config_json).op("->>")(SCHEDULED_ON) == today,
            )
            .order_by(col(JobRun.queued_at).desc())
        ).first()
    if active is not None:
        session.expunge(active)
        session.commit()
        return active, False
    config: dict[str, Any] = {} if tables is None else {"tables": tables}
    if scheduled:
        config[SCHEDULED_ON] = today
    return start_job(
        session=session,
        job_type=OPTIMIZE_DB_JOB,
        stage=OPTIMIZE_DB_STAGE,
        project=None,
        user=user,
        priority=JobPriority.bulk,  # minutes on the `low` queue, and nobody waits on it
        config=config,
        dedupe_key=OPTIMIZE_DB_STAGE,
    )
