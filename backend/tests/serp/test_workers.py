"""Rank refreshes run by real worker processes: the daily cap holds across two workers
checking at once, and two Beats firing together start one refresh per project."""

import threading
from collections.abc import Iterator

import pytest
import redis
from sqlmodel import Session, col, select

from app.core.db import session_scope
from app.jobs.models import JobRun, JobStatus
from app.projects.models import Project
from app.serp import service
from app.serp.budget import DailyCap
from tests.builders import create_project, create_user
from tests.conftest import TEST_REDIS_URL
from tests.fakes.serpapi import FakeSerpApi, fake_serpapi
from tests.jobs.conftest import wait_terminal
from tests.serp.conftest import add_keywords, connect_serpapi
from tests.workers import WorkerProcess, celery_worker

CAP = 9

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def provider() -> Iterator[FakeSerpApi]:
    with fake_serpapi() as server:
        yield server


@pytest.fixture(scope="module")
def workers(provider: FakeSerpApi) -> Iterator[tuple[WorkerProcess, WorkerProcess]]:
    env = {
        "SERPAPI_BASE_URL": provider.url,
        "SERP_REFRESH_DAILY_CAP": str(CAP),
        "SERP_CHECK_DEPTH": "30",
        "SERP_REFRESH_CONCURRENCY": "4",
        "SERPAPI_REQUESTS_PER_MINUTE": "60000",
    }
    options = {"concurrency": 1, "queues": "default", "include": "app.serp.tasks", "env": env}
    with celery_worker(**options) as first, celery_worker(**options) as second:  # type: ignore[arg-type]
        yield first, second


@pytest.fixture(autouse=True)
def _fresh_day(provider: FakeSerpApi) -> Iterator[None]:
    # Not FLUSHDB: the workers' broker queues live in the same Redis database.
    client = redis.Redis.from_url(TEST_REDIS_URL)
    for key in [DailyCap.key(), *client.scan_iter("tokens:serp:*")]:
        client.delete(key)
    provider.reset()
    yield
    client.close()


def _connected_project(session: Session, keywords: int) -> Project:
    project = create_project(session, owner=create_user(session), site_url="https://example.com")
    connect_serpapi(session, project, "serpapi-test-key-0001")
    add_keywords(session, project, [f"{project.id.hex[:6]} keyword {n}" for n in range(keywords)])
    return project


def test_the_daily_cap_holds_across_two_workers(
    session: Session, provider: FakeSerpApi, workers: tuple[WorkerProcess, WorkerProcess]
) -> None:
    provider.delay = 0.05  # calls overlap across both workers
    projects = [_connected_project(session, 10) for _ in range(2)]  # 60 requests wanted
    owner = create_user(session)
    jobs = [service.start_refresh(session=session, project=p, user=owner)[0] for p in projects]
    done = [wait_terminal(job.id, timeout=60) for job in jobs]
    assert [job.status for job in done] == [JobStatus.completed] * 2, [
        j.error_message for j in done
    ]
    # Every provider request of both workers counted against one cap: never more.
    assert len(provider.calls("/search.json")) == CAP
    assert DailyCap().used() == CAP
    for job in done:
        result = job.result_json or {}
        assert "daily cap of 9" in str(result["stopped"])
        assert result["left"] > 0
        assert result["checked"] + result["left"] == 10


def test_two_beats_start_one_refresh_per_project(
    session: Session, workers: tuple[WorkerProcess, WorkerProcess]
) -> None:
    projects = [_connected_project(session, 1) for _ in range(3)]
    create_project(session, owner=create_user(session))  # not connected: no job
    barrier = threading.Barrier(2)

    def beat() -> None:
        barrier.wait(timeout=10)
        with session_scope() as db:
            service.refresh_all_due_keywords(session=db)

    beats = [threading.Thread(target=beat) for _ in range(2)]
    for thread in beats:
        thread.start()
    for thread in beats:
        thread.join(timeout=30)
    jobs = session.exec(select(JobRun).where(col(JobRun.job_type) == "serp_refresh")).all()
    assert sorted(str(j.project_id) for j in jobs) == sorted(str(p.id) for p in projects)
    for job in jobs:
        assert wait_terminal(job.id, timeout=60).status == JobStatus.completed
    # A Beat firing again the same day, after the jobs ended, starts nothing.
    with session_scope() as db:
        again = service.refresh_all_due_keywords(session=db)
    assert (len(again.started), again.already) == (0, 3)
