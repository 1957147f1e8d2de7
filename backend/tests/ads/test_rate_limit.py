"""The developer token's rate limit holds across worker processes: two workers syncing two
projects with the same developer token call Google no faster than the shared bucket allows.
(A module of its own: the other worker tests' workers must not take these jobs.)"""

from typing import Any

import pytest
from sqlmodel import Session

from app.ads import service
from app.jobs.models import JobStatus
from tests.ads.conftest import ACCOUNT, CUSTOMER, connect
from tests.builders import create_project, create_user
from tests.fakes.google import FakeGoogle
from tests.fakes.google_ads import AdsState
from tests.jobs.conftest import wait_terminal
from tests.workers import celery_worker

pytestmark = pytest.mark.slow


# Asserts spacing in time between calls, which a loaded machine's scheduling stretches
# and bunches: run alone (scripts/test).
@pytest.mark.serial
def test_two_workers_share_the_developer_tokens_rate_limit(
    session: Session,
    fake_server: FakeGoogle,
    fake: FakeGoogle,
    ads: AdsState,
    redis_client: Any,
) -> None:
    per_minute = 120  # 2 calls a second, a burst of 2
    env = {"GOOGLE_ADS_API_BASE_URL": fake_server.url, "ADS_REQUESTS_PER_MINUTE": str(per_minute)}
    owner = create_user(session)
    projects = [create_project(session, owner=owner, name=f"P{i}") for i in range(2)]
    for project in projects:
        connect(session, project, fake.oauth_client(ACCOUNT))
    with (
        celery_worker(queues="default", concurrency=1, env=env, include="app.ads.tasks"),
        celery_worker(queues="default", concurrency=1, env=env, include="app.ads.tasks"),
    ):
        jobs = [
            service.start_sync(session=session, project=p, user=None, days=45)[0] for p in projects
        ]
        ended = [wait_terminal(job.id, timeout=60) for job in jobs]
    assert all(job.status == JobStatus.completed for job in ended), [j.error_message for j in ended]
    calls = sorted(call.at for call in fake.calls("googleAds:searchStream"))
    assert len(calls) == 6  # 3 chunks of 15 days per project
    rate = per_minute / 60
    for i in range(len(calls)):
        for j in range(i + 1, len(calls)):
            # Any stretch of calls fits the bucket: its burst plus what it refills meanwhile.
            assert j - i + 1 <= 2 + rate * (calls[j] - calls[i]) + 0.5, (i, j, calls)
    assert calls[-1] - calls[0] >= (len(calls) - 2) / rate - 0.5
    assert CUSTOMER in fake.calls("googleAds:searchStream")[0].path
