"""Search Console jobs on real worker processes: Beat's fan-out (twice) with one project
failing, a backfill resuming after its worker is SIGKILLed, and the shared rate limit
holding across two workers."""

import datetime as dt
import uuid
from collections.abc import Iterator

import pytest
from sqlmodel import Session, col, select

from app.core.celery_app import celery_app
from app.core.db import session_scope
from app.core.domains import beat_schedule, declared_domains
from app.gsc import service
from app.jobs.models import JobRun, JobStatus
from app.jobs.rescue import sweep_stalled_jobs
from tests.fakes.google import FakeGoogle
from tests.fakes.gsc import GscState
from tests.gsc.conftest import DOMAIN_PROPERTY, connect, stored_rows
from tests.jobs.conftest import load, wait_for, wait_terminal
from tests.workers import WORKER_ENV, celery_worker

pytestmark = pytest.mark.slow

LEASE = float(WORKER_ENV["JOB_LEASE_SECONDS"])
TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def live(gsc: GscState) -> GscState:
    gsc.today = TODAY  # workers sync up to their own yesterday
    # A message an earlier test's worker left unread (a late Beat firing) must not start
    # work for this test's projects.
    celery_app.control.purge()
    return gsc


def _worker_env(fake: FakeGoogle, per_minute: int = 1_000_000) -> dict[str, str]:
    return {"GSC_API_BASE_URL": fake.url, "GSC_QUERIES_PER_MINUTE": str(per_minute)}


def _jobs(project_id: uuid.UUID, job_type: str) -> list[JobRun]:
    with session_scope() as session:
        return list(
            session.exec(
                select(JobRun).where(
                    col(JobRun.project_id) == project_id, col(JobRun.job_type) == job_type
                )
            ).all()
        )


def test_two_beats_start_one_sync_per_project_and_a_failure_blocks_no_one(
    session: Session, fake: FakeGoogle, live: GscState
) -> None:
    good = connect(session, fake, live)
    refused = connect(session, fake, live, property="sc-domain:not-shared.com", grant=False)
    entry = beat_schedule(declared_domains())["gsc-daily-sync"]
    with celery_worker(concurrency=2, include="app.gsc.tasks", env=_worker_env(fake)):
        for _ in range(2):  # two Beats firing the same schedule
            celery_app.send_task(entry["task"], **entry["options"])
        wait_for(
            lambda: all(_jobs(c.project.id, "gsc_sync") for c in (good, refused)),
            timeout=30,
            what="the scheduled jobs",
        )
        jobs = {c.account: _jobs(c.project.id, "gsc_sync") for c in (good, refused)}
        done = {account: wait_terminal(found[0].id, timeout=60) for account, found in jobs.items()}
        celery_app.send_task(entry["task"], **entry["options"])  # a late third firing
        wait_for(lambda: True, timeout=1)
    assert {account: len(found) for account, found in jobs.items()} == {
        good.account: 1,
        refused.account: 1,
    }
    assert all(len(_jobs(c.project.id, "gsc_sync")) == 1 for c in (good, refused))
    assert done[good.account].status == JobStatus.completed
    assert done[good.account].result_json is not None
    assert done[good.account].result_json["days"] == 28
    failed = done[refused.account]
    assert failed.status == JobStatus.failed
    assert failed.error_category == "permission_denied"
    assert refused.account in (failed.error_message or "")


def test_a_backfill_resumes_from_its_last_finished_day_after_sigkill(
    session: Session, fake: FakeGoogle, live: GscState
) -> None:
    connected = connect(session, fake, live)
    live.query_delay = 0.5  # about two seconds a day (four calls)
    today = dt.datetime.now(dt.UTC).date()  # the job's own today, even past midnight UTC
    with celery_worker(concurrency=1, include="app.gsc.tasks", env=_worker_env(fake)) as first:
        job, _ = service.start_backfill(
            session=session, project=connected.project, user=connected.owner, days=8
        )
        wait_for(
            lambda: (load(job.id).progress_current or 0) >= 2,
            timeout=60,
            what=f"two finished days of job {job.id}",
        )
        first.kill()
    killed_at = load(job.id)
    assert killed_at.status == JobStatus.running
    finished = killed_at.progress_current or 0
    assert 2 <= finished < 8
    assert "of 8" in (killed_at.progress_message or "")

    fake.requests.clear()
    with celery_worker(concurrency=1, include="app.gsc.tasks", env=_worker_env(fake)):
        wait_for(
            lambda: bool(sweep_stalled_jobs(requeue_after_seconds=LEASE).rescued),
            timeout=LEASE + 10,
            interval=0.25,
            what="the lease to expire",
        )
        done = wait_terminal(job.id, timeout=90)
    assert done.status == JobStatus.completed, done.error_message
    assert done.attempts == 2
    assert done.result_json is not None
    assert done.result_json["skipped_days"] >= finished
    refetched = {
        call.json()["startDate"]
        for call in fake.calls(r"/searchAnalytics/query")
        if "query" in call.json()["dimensions"]
    }
    yesterday = today - dt.timedelta(days=1)
    newest = {(yesterday - dt.timedelta(days=n)).isoformat() for n in range(finished)}
    assert not refetched & newest  # the days finished before the kill were not fetched again
    assert len(stored_rows(DOMAIN_PROPERTY)) == 8 * live.rows_per_day


@pytest.fixture
def two_workers(fake: FakeGoogle) -> Iterator[None]:
    env = _worker_env(fake, per_minute=120)  # 2 a second, a burst of 2
    with (
        celery_worker(concurrency=1, include="app.gsc.tasks", env=env),
        celery_worker(concurrency=1, include="app.gsc.tasks", env=env),
    ):
        yield


def test_the_shared_rate_limit_holds_across_two_workers(
    session: Session, fake: FakeGoogle, live: GscState, two_workers: None
) -> None:
    # Two projects (two service accounts) on one property: its bucket is shared.
    first = connect(session, fake, live)
    second = connect(session, fake, live, owner=first.owner)
    fake.requests.clear()
    jobs = [
        service.start_backfill(session=session, project=c.project, user=c.owner, days=3)[0]
        for c in (first, second)
    ]
    done = [wait_terminal(job.id, timeout=90) for job in jobs]
    assert [job.status for job in done] == [JobStatus.completed] * 2
    times = sorted(call.at for call in fake.calls(r"/searchAnalytics/query"))
    assert len(times) == 2 * 3 * 4
    # Per property: at most the burst (2) plus 2 a second in any window, both workers together.
    for i in range(len(times)):
        for j in range(i + 1, len(times)):
            assert j - i + 1 <= 2 + 2 * (times[j] - times[i]) + 0.5, (i, j)
    span = times[-1] - times[0]
    assert span >= (len(times) - 2) / 2 - 1  # 24 calls took about 11 s, not less
