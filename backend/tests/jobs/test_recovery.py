"""Recovery with real worker processes started and killed by each test (no shared worker):
a SIGKILLed worker, Redis losing its data, a cancelled job whose message arrives anyway."""

import time

from app.core.db import session_scope
from app.jobs import service
from app.jobs.dispatch import publish_job
from app.jobs.models import JobStatus
from app.jobs.rescue import rescue_totals, sweep_stalled_jobs
from tests.jobs import sample_tasks
from tests.jobs.conftest import executions, load, start, wait_for, wait_terminal
from tests.workers import WORKER_ENV, celery_worker

LEASE = float(WORKER_ENV["JOB_LEASE_SECONDS"])


def test_a_killed_worker_s_job_completes_on_a_restarted_worker() -> None:
    with celery_worker(concurrency=1) as first:
        job = start("test_steps", config={"steps": 200, "rounds": 100, "pause": 0.01})
        wait_for(lambda: load(job.id).progress_current, timeout=10, what="progress")
        first.kill()
    assert load(job.id).status == JobStatus.running

    with celery_worker(concurrency=1):
        wait_for(
            lambda: bool(sweep_stalled_jobs(requeue_after_seconds=LEASE).rescued),
            timeout=LEASE + 5,
            interval=0.25,
            what="the lease to expire",
        )
        done = wait_terminal(job.id, timeout=20)

    assert done.status == JobStatus.completed
    assert done.attempts == 2
    assert [e.split(":")[1] for e in executions(job.id)] == ["1", "2"]
    assert rescue_totals()["rescued"] >= 1


def test_a_killed_worker_s_job_fails_worker_lost_when_out_of_attempts() -> None:
    with celery_worker(concurrency=1) as only:
        job = start(
            "test_steps", config={"steps": 200, "rounds": 100, "pause": 0.01}, max_attempts=1
        )
        wait_for(lambda: load(job.id).progress_current, timeout=10, what="progress")
        only.kill()

    wait_for(
        lambda: bool(sweep_stalled_jobs(requeue_after_seconds=LEASE).failed),
        timeout=LEASE + 5,
        interval=0.25,
        what="the lease to expire",
    )
    done = load(job.id)
    assert done.status == JobStatus.failed
    assert done.error_category == "worker_lost"
    assert done.error_message is not None
    assert done.error_message.startswith("worker lost")
    assert done.finished_at is not None


def test_queued_jobs_survive_redis_losing_everything_and_cancelled_ones_never_run() -> None:
    jobs = [start("test_noop") for _ in range(20)]
    cancelled = start("test_noop")
    with session_scope() as session:
        result = service.cancel_job(session=session, job=load(cancelled.id))
    assert result.outcome is service.CancelOutcome.cancelled
    # FLUSHALL, confined to this run's Redis database: parallel test runs share the server.
    sample_tasks.redis_client().flushdb()  # the messages are gone

    with celery_worker(concurrency=2):
        time.sleep(0.5)
        assert all(load(job.id).status == JobStatus.queued for job in jobs)
        report = sweep_stalled_jobs(requeue_after_seconds=0)
        assert sorted(report.republished) == sorted(str(job.id) for job in jobs)
        # a message for the cancelled job arrives anyway (say, published before the cancel)
        publish_job(
            job_id=str(cancelled.id),
            job_type=cancelled.job_type,
            stage="test_noop",
            priority=cancelled.priority,
            account="",
        )
        finals = [wait_terminal(job.id).status for job in jobs]
        time.sleep(0.5)

    assert finals == [JobStatus.completed] * 20
    assert all(len(executions(job.id)) == 1 for job in jobs)
    assert load(cancelled.id).status == JobStatus.cancelled
    assert executions(cancelled.id) == []
