"""Queues with no consumer, with a real worker that consumes only `default`: the rescue sweep
never puts a second message for a job into Redis, fails a job that waited too long in a queue
nobody consumes (queue_stalled, naming the queue), and the stats name such queues."""

import time

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.jobs.models import JobStatus
from app.jobs.queues import forget_consumers
from app.jobs.rescue import sweep_stalled_jobs
from app.jobs.stats import priority_keys
from tests.builders import auth_headers, create_user
from tests.jobs import sample_tasks
from tests.jobs.conftest import executions, load, start, wait_for, wait_terminal
from tests.workers import celery_worker

pytestmark = pytest.mark.slow


def _messages_for(queue: str, job_id: object) -> int:
    """The job's messages in `queue`, over all of its priority lists."""
    client = sample_tasks.redis_client()
    raw = [message for key in priority_keys(queue) for message in client.lrange(key, 0, -1)]
    return sum(str(job_id).encode() in message for message in raw)


def test_a_job_in_a_queue_without_consumer_is_published_once_then_fails_as_stalled(
    client: TestClient, session: Session
) -> None:
    admin = auth_headers(create_user(session, superuser=True))
    with celery_worker(queues="default", concurrency=1) as worker:
        stranded = start("test_second")  # routed to `low`, which this worker does not consume
        assert load(stranded.id).queue == "low"

        for _ in range(4):
            report = sweep_stalled_jobs(requeue_after_seconds=0, stall_after_seconds=3600)
            assert str(stranded.id) not in report.republished
        assert _messages_for("low", stranded.id) == 1

        # Redis lost the message: published again, once however many sweeps run.
        sample_tasks.redis_client().delete(*priority_keys("low"))
        first = sweep_stalled_jobs(requeue_after_seconds=0, stall_after_seconds=3600)
        again = sweep_stalled_jobs(requeue_after_seconds=0, stall_after_seconds=3600)
        assert str(stranded.id) in first.republished
        assert str(stranded.id) not in again.republished
        assert _messages_for("low", stranded.id) == 1

        forget_consumers()
        stats = client.get("/api/v1/jobs/stats", headers=admin).json()
        assert stats["queues_without_consumer"] == ["low"]

        # Past the stall limit: the job in the unconsumed queue fails, while the one waiting
        # behind a long job in a consumed queue (a busy consumer, not a missing one) is left.
        busy = start("test_silent", config={"seconds": 3})
        wait_for(lambda: load(busy.id).status == JobStatus.running, timeout=15, what="busy")
        behind = start("test_noop")
        time.sleep(0.2)
        report = sweep_stalled_jobs(requeue_after_seconds=0, stall_after_seconds=0.1)
        assert report.stalled == [str(stranded.id)]
        assert str(behind.id) not in report.republished
        failed = load(stranded.id)
        assert failed.status == JobStatus.failed, worker.log()[-2000:]
        assert failed.error_category == "queue_stalled"
        assert "no worker consumes the 'low' queue" in (failed.error_message or "")
        assert failed.finished_at is not None
        assert wait_terminal(behind.id, timeout=20).status == JobStatus.completed
        assert len(executions(behind.id)) == 1

        forget_consumers()
        stats = client.get("/api/v1/jobs/stats", headers=admin).json()
        assert stats["queues_without_consumer"] == []
