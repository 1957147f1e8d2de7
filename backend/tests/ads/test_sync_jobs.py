"""Ads syncs as jobs on real worker processes: from the API to the store, the daily Beat
fan-out (twice: one job per project per day; one failing project does not stop another),
and the developer token's rate limit shared by two workers."""

import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.ads import tasks
from app.ads.models import AdsCampaignDay
from app.core.celery_app import celery_app
from app.core.db import utcnow
from app.jobs.models import JobRun, JobStatus
from app.projects.models import Project
from tests.ads.conftest import ACCOUNT, DEVELOPER_TOKEN, connect
from tests.builders import auth_headers, create_project, create_user
from tests.fakes.google import Call, FakeGoogle, Reply
from tests.fakes.google_ads import SEARCH_STREAM, AdsState
from tests.jobs.conftest import wait_for, wait_terminal
from tests.workers import celery_worker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def worker(fake_server: FakeGoogle) -> Iterator[None]:
    env = {"GOOGLE_ADS_API_BASE_URL": fake_server.url, "ADS_REQUESTS_PER_MINUTE": "100000"}
    with celery_worker(queues="default", concurrency=2, env=env, include="app.ads.tasks"):
        yield


def _ads_jobs(session: Session) -> list[JobRun]:
    session.expire_all()
    return list(session.exec(select(JobRun).where(col(JobRun.job_type) == "ads_sync")).all())


def _stored_rows(session: Session, project: Project) -> int:
    return session.exec(
        select(func.count()).where(col(AdsCampaignDay.project_id) == project.id)
    ).one()


def test_a_sync_from_the_api_runs_on_a_worker(
    worker: None,
    client: TestClient,
    session: Session,
    ads: AdsState,
    credential: dict[str, str],
) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)
    headers = auth_headers(owner)
    ads.quota_error(times=1, retry_delay="0.2s")

    # Connecting starts the first sync: the backfill.
    connected = client.put(
        f"/api/v1/projects/{project.id}/ads/connection",
        json={
            "customer_id": "123-456-7890",
            "developer_token": DEVELOPER_TOKEN,
            "credentials": credential,
        },
        headers=headers,
    )
    assert connected.status_code == 200, connected.text
    (first,) = _ads_jobs(session)
    job = wait_terminal(first.id, timeout=60)
    assert job.status == JobStatus.completed, job.error_message
    result: dict[str, Any] = job.result_json or {}
    today = utcnow().date()
    assert result["first_sync"] is True
    assert (result["days"], result["rows"], result["inserted"]) == (90, 270, 270)
    assert result["retries"] == 1  # the quota error, after its retryDelay
    assert result["currency"] == "EUR"
    assert (job.progress_current, job.progress_total, job.progress_pct) == (90, 90, 100)
    assert _stored_rows(session, project) == 270

    # The next sync re-fetches the last three days only.
    ads.queries.clear()
    again = client.post(f"/api/v1/projects/{project.id}/ads/sync", headers=headers)
    done = wait_terminal(uuid.UUID(again.json()["id"]), timeout=60)
    assert done.status == JobStatus.completed, done.error_message
    assert (done.result_json or {})["days"] == 3
    assert ads.queries[0].endswith(
        f"BETWEEN '{(today - timedelta(days=2)).isoformat()}' AND '{today.isoformat()}'"
    )
    metrics = client.get(f"/api/v1/projects/{project.id}/ads/metrics", headers=headers).json()
    assert metrics["totals"]["impressions"] > 0


def test_the_daily_fan_out_starts_one_job_per_project_once_a_day(
    worker: None,
    session: Session,
    fake: FakeGoogle,
    ads: AdsState,
) -> None:
    owner = create_user(session)
    projects = [create_project(session, owner=owner, name=f"P{i}") for i in range(3)]
    credentials = [fake.oauth_client(ACCOUNT) for _ in projects]
    for project, credential in zip(projects, credentials, strict=True):
        connect(session, project, credential)
    fake.revoke(credentials[1])  # the second project's credential no longer works
    create_project(session, owner=owner, name="not connected")

    # Beat fires twice (two Beats, or a retry): once through the worker, once here.
    celery_app.send_task("app.ads.tasks.sync_all_accounts")
    wait_for(lambda: len(_ads_jobs(session)) == 3, timeout=30, what="the fan-out's jobs")
    assert tasks.sync_all_accounts() == {"started": 0, "already": 3, "failed": 0}

    jobs = {job.project_id: job for job in _ads_jobs(session)}
    assert set(jobs) == {p.id for p in projects}
    ended = {pid: wait_terminal(job.id, timeout=60) for pid, job in jobs.items()}
    failing = ended[projects[1].id]
    assert (failing.status, failing.error_category) == (JobStatus.failed, "auth_failed")
    assert "reconnect the account" in (failing.error_message or "")
    for project in (projects[0], projects[2]):
        assert ended[project.id].status == JobStatus.completed, ended[project.id].error_message
        assert _stored_rows(session, project) == 270
    assert all(
        job.dedupe_key and job.dedupe_key.endswith(utcnow().date().isoformat())
        for job in jobs.values()
    )
    assert len(_ads_jobs(session)) == 3  # still: the day's keys hold after the jobs ended
    assert tasks.sync_all_accounts()["started"] == 0


def test_a_running_sync_stops_when_cancelled(
    worker: None,
    client: TestClient,
    session: Session,
    fake: FakeGoogle,
    ads: AdsState,
    credential: dict[str, str],
) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)
    headers = auth_headers(owner)
    connect(session, project, credential)
    fake.routes.clear()

    def slow(call: Call, match: "re.Match[str]") -> Reply:
        time.sleep(1.0)  # a large account's report takes its time
        return ads.search_stream(call, match)

    fake.route("POST", SEARCH_STREAM, slow)
    started = client.post(f"/api/v1/projects/{project.id}/ads/sync", headers=headers)
    job_id = started.json()["id"]
    wait_for(lambda: len(fake.calls("searchStream")) >= 1, timeout=30, what="the first call")
    assert client.post(f"/api/v1/jobs/{job_id}/cancel", headers=headers).status_code in (200, 202)
    job = wait_terminal(uuid.UUID(job_id), timeout=30)
    assert job.status == JobStatus.cancelled
    assert len(fake.calls("searchStream")) < 6  # it stopped before the last chunk
