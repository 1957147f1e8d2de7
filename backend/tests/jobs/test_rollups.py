"""The rollups behind stats and /metrics (app.jobs.rollups) equal the aggregates of job_runs
after inserts, transitions, retention deletes and cascades; the counters of /metrics never
go down; percentiles from the histograms stay within one bucket of the exact ones."""

import importlib.util
import math
import random
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.core.db import engine
from app.jobs import rollups
from app.jobs.models import JobStatus
from tests.builders import create_project, create_user
from tests.jobs.rows import insert_job

MIGRATION = Path(rollups.__file__).parents[1] / "alembic/versions/0004_job_rollups.py"


def _migration() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rollups_migration", MIGRATION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_FOLD_LOCK = _migration().FOLD_LOCK


def test_the_migration_and_the_app_agree_on_buckets() -> None:
    frozen = _migration()
    assert frozen.HISTOGRAM_BUCKETS == rollups.HISTOGRAM_BUCKETS
    assert frozen.STEPS_PER_DOUBLING == rollups.STEPS_PER_DOUBLING
    assert frozen.DURATION_BUCKETS == rollups.DURATION_BUCKETS
    assert frozen.PICKUP_BUCKETS == rollups.PICKUP_BUCKETS
    assert frozen.NO_PROJECT.startswith(f"'{rollups.NO_PROJECT}'")
    samples = [0.0, 0.0004, 0.001, 0.0011, 0.0102, 0.5, 1.0, 3.0, 59.9, 3600.0, 86400.0, 1e7]
    with engine.connect() as connection:
        for seconds in samples:
            bucket = connection.execute(
                sa.text("SELECT job_seconds_bucket(:s)"), {"s": seconds}
            ).scalar_one()
            low, high = rollups.bucket_bounds(bucket)
            assert low <= seconds < high or (bucket == 1 and seconds < 0.001), (seconds, bucket)


# What each rollup must equal: the same aggregates computed from job_runs itself, per scope
# (a job's project, its project's owner, the platform).
_SCOPED = """(
    SELECT 'project' AS scope, coalesce(j.project_id, :nil) AS scope_id, j.* FROM job_runs j
    UNION ALL
    SELECT 'owner', p.owner_id, j.* FROM job_runs j JOIN projects p ON p.id = j.project_id
    UNION ALL
    SELECT 'all', :nil, j.* FROM job_runs j
) AS s CROSS JOIN (VALUES ('hour'), ('day')) AS g(grain)"""
_EXPECTED_COUNTS = f"""
    SELECT scope, scope_id, grain, date_trunc(grain, queued_at, 'UTC'), job_type, status, count(*)
    FROM {_SCOPED} GROUP BY 1, 2, 3, 4, 5, 6
"""
_EXPECTED_FINISHES = f"""
    SELECT scope, scope_id, grain, date_trunc(grain, finished_at, 'UTC'),
           count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed'),
           count(*)
    FROM {_SCOPED}
    WHERE finished_at IS NOT NULL AND started_at IS NOT NULL
    GROUP BY 1, 2, 3, 4
"""
_KEY = ("scope", "scope_id", "grain", "bucket_start")


def _rolled_up(session: Session) -> tuple[dict[Any, int], dict[Any, tuple[int, int, int]]]:
    rollups.fold()
    counts: dict[Any, int] = {}
    for row in session.execute(sa.text("SELECT * FROM job_counts_rollup")).mappings():
        for status in JobStatus:
            if row[status.value]:
                key = (*(row[k] for k in _KEY), row["job_type"], status.value)
                counts[key] = row[status.value]
    finishes = {
        tuple(row[k] for k in _KEY): (
            row["completed"],
            row["failed"],
            sum(row["pickup_seconds"]),
        )
        for row in session.execute(sa.text("SELECT * FROM job_finishes_rollup")).mappings()
        if row["completed"] or row["failed"] or any(row["pickup_seconds"])
    }
    return counts, finishes


def _expected(session: Session) -> tuple[dict[Any, int], dict[Any, tuple[int, int, int]]]:
    nil = {"nil": rollups.NO_PROJECT}
    counts = {tuple(row[:6]): row[6] for row in session.execute(sa.text(_EXPECTED_COUNTS), nil)}
    finishes = {
        tuple(row[:4]): (row[4], row[5], row[6])
        for row in session.execute(sa.text(_EXPECTED_FINISHES), nil)
    }
    return counts, finishes


def test_rollups_equal_the_table_through_every_kind_of_write(session: Session) -> None:
    owner = create_user(session)
    shop, blog = create_project(session, owner=owner), create_project(session, owner=owner)
    elsewhere = create_project(session, owner=create_user(session))
    insert_job(session, project=elsewhere, status=JobStatus.completed)
    jobs = [
        insert_job(session, project=project, status=status, age=timedelta(hours=age))
        for project, status, age in [
            (shop, JobStatus.queued, 0),
            (shop, JobStatus.running, 1),
            (shop, JobStatus.completed, 30),
            (blog, JobStatus.failed, 50),
            (None, JobStatus.completed, 2),
        ]
    ]
    assert _rolled_up(session) == _expected(session)

    # Transitions, one statement each, as the runtime makes them.
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE job_runs SET status = 'running', started_at = now(), attempts = 1 "
                "WHERE id = :id"
            ),
            {"id": jobs[0].id},
        )
        connection.execute(
            sa.text("UPDATE job_runs SET status = 'completed', finished_at = now() WHERE id = :id"),
            {"id": jobs[1].id},
        )
        # A progress write: no rollup column changes.
        connection.execute(
            sa.text("UPDATE job_runs SET progress_pct = 50 WHERE id = :id"), {"id": jobs[0].id}
        )
        # Several rows in one statement.
        connection.execute(
            sa.text(
                "UPDATE job_runs SET status = 'cancelled', finished_at = now() WHERE id = ANY(:ids)"
            ),
            {"ids": [jobs[0].id, jobs[3].id]},
        )
    assert _rolled_up(session) == _expected(session)

    # Retention deletes, and a project deleted with its jobs (FK cascade).
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM job_runs WHERE id = :id"), {"id": jobs[2].id})
        connection.execute(sa.text("DELETE FROM projects WHERE id = :id"), {"id": blog.id})
    assert _rolled_up(session) == _expected(session)


def _counters(session: Session) -> dict[str, tuple[int, ...]]:
    rollups.fold()
    return {
        row.job_type: (row.started, row.completed, row.failed, row.cancelled, row.run_count)
        for row in session.execute(sa.text("SELECT * FROM job_counters"))
    }


def test_counters_count_starts_and_finishes_once_and_never_go_down(session: Session) -> None:
    project = create_project(session, owner=create_user(session))
    job = insert_job(session, project=project, job_type="maintenance")
    assert _counters(session) == {}
    with engine.begin() as connection:
        for statement in (
            "UPDATE job_runs SET status = 'running', started_at = now(), attempts = 1",
            "UPDATE job_runs SET status = 'retrying'",
            # A second claim keeps started_at: not a second start.
            "UPDATE job_runs SET status = 'running', attempts = 2",
            "UPDATE job_runs SET status = 'completed', finished_at = now()",
        ):
            connection.execute(sa.text(statement + " WHERE id = :id"), {"id": job.id})
    assert _counters(session) == {"maintenance": (1, 1, 0, 0, 1)}
    extra_runs = session.execute(sa.text("SELECT extra_runs FROM job_counters")).scalar_one()
    assert extra_runs == 1
    with engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM job_runs"))
    assert _counters(session) == {"maintenance": (1, 1, 0, 0, 1)}


def test_histogram_percentiles_stay_within_a_bucket() -> None:
    generator = random.Random(7)
    for _ in range(50):
        values = sorted(generator.lognormvariate(0, 2.5) for _ in range(generator.randint(1, 400)))
        histogram = [0] * rollups.HISTOGRAM_BUCKETS
        for value in values:
            index = next(
                i
                for i in range(1, rollups.HISTOGRAM_BUCKETS + 1)
                if value < rollups.bucket_bounds(i)[1]
            )
            histogram[index - 1] += 1
        for quantile in (0.5, 0.95):
            exact = values[max(0, math.ceil(quantile * len(values)) - 1)]  # rank q * n
            estimate = rollups.histogram_percentile(histogram, quantile)
            assert estimate is not None
            if exact >= 0.001:
                assert estimate == pytest.approx(exact, rel=0.19), (quantile, len(values))


def test_jobs_without_a_project_roll_up_for_superusers_only(session: Session) -> None:
    insert_job(session, project=None, job_type="maintenance", status=JobStatus.completed)
    rollups.fold()
    scopes = session.execute(sa.text("SELECT DISTINCT scope, scope_id FROM job_counts_rollup"))
    # No owner: counted for the platform and under "no project", both seen by superusers only.
    assert sorted(scopes) == [("all", rollups.NO_PROJECT), ("project", rollups.NO_PROJECT)]


def _pending(session: Session) -> int:
    return int(session.execute(sa.text("SELECT count(*) FROM job_rollup_deltas")).scalar_one())


def test_writes_append_deltas_that_a_fold_or_the_sweep_consumes(session: Session) -> None:
    from app.jobs.rescue import sweep_stalled_jobs

    project = create_project(session, owner=create_user(session))
    job = insert_job(session, project=project)
    # A write touches no rollup row: it appends one delta per job changed.
    assert _pending(session) == 1
    assert session.execute(sa.text("SELECT count(*) FROM job_counts_rollup")).scalar_one() == 0
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE job_runs SET progress_pct = 10 WHERE id = :id"), {"id": job.id}
        )
    assert _pending(session) == 1  # nothing rolled up changed: nothing appended
    # While a fold holds the lock, one that would not wait gives up at once.
    with engine.begin() as connection:
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FOLD_LOCK})
        assert rollups.fold(wait=False) is None
    assert rollups.fold() == 1
    assert _pending(session) == 0
    assert rollups.fold() == 0
    with engine.begin() as connection:
        connection.execute(
            sa.text("UPDATE job_runs SET status = 'running', started_at = now() WHERE id = :id"),
            {"id": job.id},
        )
    assert _pending(session) == 2  # what the job took back (queued) and adds (running)
    sweep_stalled_jobs(requeue_after_seconds=3600)
    assert _pending(session) == 0
    assert _rolled_up(session) == _expected(session)
