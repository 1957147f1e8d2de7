"""The database optimization (VACUUM (ANALYZE) of the large tables): run by a real worker
that consumes only the `low` queue, reported per table, cancellable between tables, started
once however many Beats and clicks."""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.db import engine, session_scope
from app.jobs import service as jobs_service
from app.jobs.models import JobRun, JobStatus
from app.maintenance import optimize, service
from app.maintenance.tasks import optimize_db
from tests.builders import auth_headers, create_user
from tests.jobs.conftest import wait_for, wait_terminal
from tests.workers import WorkerProcess, celery_worker

API = "/api/v1/jobs"
LOCK_TIMEOUT = 2


@pytest.fixture(scope="module")
def low_worker() -> Iterator[WorkerProcess]:
    # Only `low`: a job routed anywhere else would never run.
    env = {"OPTIMIZE_DB_LOCK_TIMEOUT_SECONDS": str(LOCK_TIMEOUT)}
    with celery_worker(queues="low", concurrency=1, env=env) as process:
        yield process


@pytest.fixture
def no_autovacuum_of_backlinks() -> Iterator[None]:
    """Autovacuum's ANALYZE would re-estimate (or prune away) the dead tuples a test made
    before the job counts them, whenever its one-minute round comes by."""
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE backlinks SET (autovacuum_enabled = false)"))
    yield
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE backlinks RESET (autovacuum_enabled)"))


def _dead_backlinks(count: int) -> None:
    """`count` dead tuples in backlinks, counted in the statistics when this returns."""
    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO backlinks (project_id, link_key, source_url, target_url, "
                "referring_domain, lost, nofollow, ugc, sponsored, created_at, updated_at) "
                "SELECT :project, gen_random_uuid(), 'https://a.example/' || n, "
                "'https://b.example/', 'a.example', false, false, false, false, now(), now() "
                "FROM generate_series(1, :rows) AS n"
            ),
            {"project": uuid.uuid4(), "rows": count + 5},
        )
        connection.execute(sa.text("DELETE FROM backlinks WHERE source_url NOT LIKE '%/1'"))
        # Flushed when this backend next goes idle, i.e. before the commit returns.
        connection.execute(sa.text("SELECT pg_stat_force_next_flush()"))
    # ... and seen by other sessions before the job that counts them starts.
    wait_for(lambda: _dead_tuples("backlinks") >= count, timeout=10, what="dead tuples counted")


def _dead_tuples(table: str) -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = :table"),
                {"table": table},
            ).scalar_one()
        )


@contextmanager
def _locked(table: str) -> Iterator[None]:
    """Holds the lock a VACUUM needs on `table` (as an index build or another VACUUM)."""
    with engine.connect() as connection, connection.begin():
        connection.execute(sa.text(f"LOCK TABLE {table} IN SHARE UPDATE EXCLUSIVE MODE"))
        yield


def _waiting_for_lock(table: str) -> bool:
    with engine.connect() as connection:
        return bool(
            connection.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = :table AND NOT l.granted"
                ),
                {"table": table},
            ).scalar_one()
        )


def _start(tables: list[str] | None = None) -> JobRun:
    with session_scope() as session:
        job, created = service.start_optimize_db_job(session=session, user=None, tables=tables)
    assert created
    return job


def _by_table(job: JobRun) -> dict[str, dict[str, Any]]:
    assert job.result_json is not None
    return {row["table"]: row for row in job.result_json["tables"]}


# The tests without a worker come first: the module's worker starts with the first test
# that asks for it and would run the jobs these expect to stay queued.


def test_the_statement_timeout_bounds_each_table_and_the_deadline_the_whole_run() -> None:
    with _locked("serp_snapshots"):
        results = optimize.optimize_tables(
            tables=["serp_snapshots", "backlinks"],
            statement_timeout_seconds=0.3,
            lock_timeout_seconds=30,
        )
    assert [(r.table, r.outcome) for r in results] == [
        ("serp_snapshots", optimize.TableOutcome.timed_out),
        ("backlinks", optimize.TableOutcome.vacuumed),
    ]
    assert 0.25 < results[0].seconds < 10
    assert results[0].detail == "canceling statement due to statement timeout"

    reports: list[tuple[int, int, str]] = []
    late = optimize.optimize_tables(
        tables=["backlinks"], deadline=0.0, on_progress=lambda *r: reports.append(r)
    )
    assert [(r.table, r.outcome) for r in late] == [
        ("backlinks", optimize.TableOutcome.out_of_time)
    ]
    assert reports == [(0, 1, "backlinks: vacuuming"), (1, 1, "backlinks: out of time")]


def test_two_beats_and_two_clicks_make_one_job(client: TestClient, session: Session) -> None:
    admin = create_user(session, superuser=True)
    user = create_user(session)
    path = f"{API}/maintenance/optimize-db"

    forbidden = client.post(path, headers=auth_headers(user))
    assert forbidden.status_code == 403
    assert forbidden.json()["detail"] == "Superuser privileges required"

    first_beat, second_beat = optimize_db(), optimize_db()
    assert first_beat == second_beat
    clicked = client.post(path, headers=auth_headers(admin))
    assert clicked.status_code == 202, clicked.text
    assert clicked.json()["id"] == first_beat  # the Beat's job is still queued (no worker)
    assert clicked.json()["job_type"] == "optimize_db"
    assert clicked.json()["queue"] == "low"

    # Once it ended, a click starts a new one (and a second click finds it); Beat does not
    # start a second one the same day.
    with session_scope() as db:
        job = db.get(JobRun, uuid.UUID(first_beat))
        assert job is not None
        jobs_service.cancel_job(session=db, job=job)
    started = client.post(path, headers=auth_headers(admin)).json()
    assert started["id"] != first_beat
    assert started["user_id"] == str(admin.id)
    assert client.post(path, headers=auth_headers(admin)).json()["id"] == started["id"]
    assert optimize_db() == started["id"]
    # A retry of the cancelled scheduled run finds the active one too.
    retried = client.post(f"{API}/{first_beat}/retry", headers=auth_headers(admin))
    assert retried.status_code in (200, 202), retried.text
    assert retried.json()["id"] == started["id"]
    with engine.connect() as connection:
        count = connection.execute(
            sa.text("SELECT count(*) FROM job_runs WHERE job_type = 'optimize_db'")
        ).scalar_one()
    assert count == 2


# Alone, after the parallel run: its dead-tuple count was once seen as 0 by the job while
# another test process loaded the database server.
@pytest.mark.serial
def test_every_large_table_is_vacuumed_with_its_dead_tuples_reported(
    low_worker: WorkerProcess, no_autovacuum_of_backlinks: None
) -> None:
    _dead_backlinks(40)
    job = _start()
    assert job.queue == "low"

    done = wait_terminal(job.id, timeout=60)

    assert done.status == JobStatus.completed, done.error_message
    tables = optimize.declared_large_tables()
    by_table = _by_table(done)
    assert list(by_table) == tables
    assert {row["outcome"] for row in by_table.values()} == {"vacuumed"}
    assert done.result_json is not None
    assert done.result_json["outcomes"] == {"vacuumed": len(tables)}
    assert by_table["backlinks"]["dead_tuples_before"] >= 40, by_table["backlinks"]
    assert by_table["backlinks"]["dead_tuples_after"] == 0
    assert all(row["seconds"] >= 0 for row in by_table.values())
    assert (done.progress_current, done.progress_total, done.progress_pct) == (
        len(tables),
        len(tables),
        100.0,
    )
    assert done.progress_message == f"{len(tables)} tables: {len(tables)} vacuumed"


def test_a_locked_or_missing_table_is_reported_and_the_others_are_vacuumed(
    low_worker: WorkerProcess,
) -> None:
    with _locked("serp_snapshots"):
        job = _start(["serp_snapshots", "no_such_table", "backlinks"])
        done = wait_terminal(job.id, timeout=30)

    assert done.status == JobStatus.completed, done.error_message
    by_table = _by_table(done)
    assert by_table["serp_snapshots"]["outcome"] == "locked"
    assert by_table["serp_snapshots"]["seconds"] >= LOCK_TIMEOUT * 0.9
    assert by_table["serp_snapshots"]["detail"].startswith("canceling statement due to lock")
    assert by_table["no_such_table"]["outcome"] == "missing"
    assert by_table["backlinks"]["outcome"] == "vacuumed"
    assert done.result_json is not None
    assert done.result_json["outcomes"] == {"locked": 1, "missing": 1, "vacuumed": 1}


def test_a_cancel_stops_the_job_before_the_next_table(low_worker: WorkerProcess) -> None:
    with _locked("serp_snapshots"):
        job = _start(["backlinks", "serp_snapshots", "ads_campaign_days"])
        wait_for(lambda: _waiting_for_lock("serp_snapshots"), timeout=15, what="the lock wait")
        with session_scope() as session:
            row = session.get(JobRun, job.id)
            assert row is not None
            jobs_service.cancel_job(session=session, job=row)
        done = wait_terminal(job.id, timeout=30)

    assert done.status == JobStatus.cancelled, done.error_message
    # The table it was on when the cancel came is reported; the next one never started.
    by_table = _by_table(done)
    assert [(table, row["outcome"]) for table, row in by_table.items()] == [
        ("backlinks", "vacuumed"),
        ("serp_snapshots", "locked"),
    ]
