"""Each number is kept once: the sweep's counters in one place whoever runs the sweep, and
one worker ping shared by readiness, job stats and /metrics."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.celery_app import celery_app
from app.core.db import utcnow
from app.health.service import forget_worker_ping
from app.jobs.models import JobStatus
from app.jobs.rescue import rescue_totals, sweep_stalled_jobs
from tests.builders import auth_headers, create_user
from tests.jobs import test_job_stats
from tests.jobs.rows import insert_job
from tests.workers import WorkerProcess


def test_a_sweep_is_counted_once_and_metrics_show_it_whoever_ran_it(
    client: TestClient, session: Session, redis_client: redis.Redis
) -> None:
    before = test_job_stats.scrape(client)
    insert_job(
        session,
        project=None,
        job_type="maintenance",
        status=JobStatus.running,
        stage="health_check",
        lease_expires_at=utcnow() - timedelta(seconds=30),
        attempts=4,
    )
    # Not through the Beat task: any caller's sweep (an operator's, a test's) counts.
    assert sweep_stalled_jobs().as_dict()["failed_worker_lost"] == 1

    key = ("seo_job_sweep_actions_total", (("outcome", "failed_worker_lost"),))
    assert test_job_stats.scrape(client)[key] - before.get(key, 0.0) == 1
    assert rescue_totals()["failed_worker_lost"] == 1
    # One record of the counts, not one per code path.
    counters = [
        name
        for name in redis_client.scan_iter()
        if redis_client.type(name) == b"hash" and redis_client.hexists(name, "failed_worker_lost")
    ]
    assert len(counters) == 1, counters


@pytest.fixture
def counted_pings(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """The real broadcast ping, counted."""
    calls: list[float] = []
    real_ping = celery_app.control.ping

    def ping(*args: object, **kwargs: float) -> object:
        calls.append(kwargs.get("timeout", 0.0))
        return real_ping(*args, **kwargs)

    monkeypatch.setattr(celery_app.control, "ping", ping)
    forget_worker_ping()
    yield calls
    forget_worker_ping()


def test_readiness_stats_and_metrics_share_one_worker_ping(
    client: TestClient, session: Session, worker: WorkerProcess, counted_pings: list[float]
) -> None:
    # Worker names and queue internals are shown to superusers only.
    operator = auth_headers(create_user(session, superuser=True))
    ready = client.get("/api/v1/health/ready", headers=operator).json()
    stats = client.get("/api/v1/jobs/stats", headers=operator).json()
    metrics = test_job_stats.scrape(client)

    assert len(counted_pings) == 1
    assert worker.nodename in ready["worker_names"]
    assert stats["workers"]["names"] == ready["worker_names"]
    assert metrics[("seo_workers_online", ())] == len(ready["worker_names"])
