"""The job runtime with real worker processes, a real broker and the real database."""

import time
import uuid
from datetime import timedelta

from celery import Celery

from app.core.db import session_scope
from app.jobs import service
from app.jobs.dispatch import publish_job
from app.jobs.models import JobRun, JobStatus
from app.jobs.rescue import sweep_stalled_jobs
from tests.jobs.conftest import (
    JobEvents,
    executions,
    load,
    start,
    wait_for,
    wait_terminal,
)
from tests.workers import WORKER_ENV, WorkerProcess

LEASE = float(WORKER_ENV["JOB_LEASE_SECONDS"])


def test_job_runs_and_completes_with_its_result(worker: WorkerProcess) -> None:
    job = start("test_steps", config={"steps": 5, "rounds": 10})

    done = wait_terminal(job.id)

    assert done.status == JobStatus.completed
    assert done.result_json is not None
    assert done.result_json["steps"] == 5
    assert done.progress_pct == 100
    assert (done.progress_current, done.progress_total) == (5, 5)
    assert done.attempts == 1
    assert done.started_at
    assert done.finished_at
    assert done.queued_at <= done.started_at
    assert done.lease_expires_at is None
    assert len(executions(job.id)) == 1


def test_the_same_message_delivered_twice_runs_the_work_once(worker: WorkerProcess) -> None:
    jobs = [start("test_steps", config={"steps": 3, "rounds": 10}) for _ in range(10)]
    for job in jobs:  # duplicates while queued or running, as a redelivery would make
        for _ in range(2):
            publish_job(
                job_id=str(job.id),
                job_type=job.job_type,
                stage=job.stage,
                priority=job.priority,
                account="",
            )

    for job in jobs:
        assert wait_terminal(job.id).status == JobStatus.completed
    # and once more after the end: nothing to claim
    for job in jobs:
        publish_job(
            job_id=str(job.id),
            job_type=job.job_type,
            stage=job.stage,
            priority=job.priority,
            account="",
        )
    time.sleep(0.5)

    for job in jobs:
        assert len(executions(job.id)) == 1, executions(job.id)
        assert load(job.id).attempts == 1


def test_progress_is_monotonic_and_throttled(worker: WorkerProcess, job_events: JobEvents) -> None:
    # 300 steps, each reporting twice (once with a lower count), over about 2.5 s.
    job = start("test_steps", config={"steps": 300, "rounds": 200, "pause": 0.008})

    done = wait_terminal(job.id, timeout=30)

    assert done.status == JobStatus.completed
    events = job_events.for_job(job.id)
    elapsed = (events[-1].at - events[0].at).total_seconds()
    progress_writes = [e for e in events if e.old_status == e.new_status == "running"]
    # claim + about one write a second + the completion (which carries the last values)
    assert 1 <= len(progress_writes) <= elapsed / 1.0 + 1, (len(progress_writes), elapsed)
    counts = [e.progress_current or 0 for e in events]
    percents = [e.progress_pct for e in events]
    assert counts == sorted(counts)
    assert percents == sorted(percents)
    assert counts[-1] == 300


def test_transient_failures_retry_with_backoff_then_complete(
    worker: WorkerProcess, job_events: JobEvents
) -> None:
    job = start("test_flaky", config={"failures": 2})

    done = wait_terminal(job.id, timeout=20)

    assert done.status == JobStatus.completed
    assert done.attempts == 3
    assert done.result_json == {"attempt": 3}
    statuses = [e.new_status for e in job_events.for_job(job.id)]
    assert statuses == ["running", "retrying", "running", "retrying", "running", "completed"]
    assert len(executions(job.id)) == 3


def test_retry_after_is_honoured(worker: WorkerProcess, job_events: JobEvents) -> None:
    job = start("test_flaky", config={"failures": 1, "retry_after": 1.5})

    wait_for(lambda: load(job.id).status == JobStatus.retrying, timeout=10, what="retrying")
    waiting = load(job.id)
    assert waiting.next_retry_at is not None
    assert waiting.error_category == "transient"
    assert waiting.error_message == "upstream unavailable (attempt 1)"
    done = wait_terminal(job.id, timeout=15)

    assert done.status == JobStatus.completed
    events = job_events.for_job(job.id)
    retried_at = next(e.at for e in events if e.new_status == "retrying")
    reclaimed_at = next(e.at for e in events if e.old_status == "retrying")
    assert (reclaimed_at - retried_at).total_seconds() >= 1.4


def test_transient_failures_give_up_after_max_attempts(worker: WorkerProcess) -> None:
    job = start("test_flaky", config={"failures": 10}, max_attempts=2)

    done = wait_terminal(job.id, timeout=20)

    assert done.status == JobStatus.failed
    assert done.attempts == 2
    assert done.error_message == "upstream unavailable (attempt 2) (gave up after 2 attempts)"
    assert len(executions(job.id)) == 2


def test_permanent_failure_fails_at_once(worker: WorkerProcess) -> None:
    job = start("test_broken")

    done = wait_terminal(job.id)

    assert done.status == JobStatus.failed
    assert done.attempts == 1
    assert done.error_category == "not_found"
    assert done.error_message == "the site URL answers 404"
    assert done.error_traceback
    assert "PermanentJobError" in done.error_traceback
    assert len(executions(job.id)) == 1


def test_soft_time_limit_fails_with_the_partial_result(worker: WorkerProcess) -> None:
    job = start("test_endless")

    done = wait_terminal(job.id, timeout=15)

    assert done.status == JobStatus.failed
    assert done.error_category == "time_limit"
    assert done.error_message is not None
    assert "soft time limit (1 s)" in done.error_message
    assert done.result_json is not None
    assert done.result_json["rounds_done"] > 0


def test_cancel_of_a_running_job_stops_it_at_a_checkpoint(worker: WorkerProcess) -> None:
    job = start("test_steps", config={"steps": 2000, "rounds": 50, "pause": 0.005})
    wait_for(lambda: load(job.id).status == JobStatus.running, timeout=10, what="running")

    with session_scope() as session:
        result = service.cancel_job(session=session, job=load(job.id))
    requested = time.monotonic()
    assert result.outcome is service.CancelOutcome.requested
    done = wait_terminal(job.id, timeout=10)
    seen_after = time.monotonic() - requested

    assert done.status == JobStatus.cancelled
    # seen at the first database contact after the request: within one progress interval
    assert seen_after < 1.0 + 0.5, seen_after
    assert done.result_json is not None
    assert 0 < done.result_json["steps_done"] < 2000
    assert done.progress_current is not None
    assert done.progress_current < 2000


def test_cancel_racing_completion_leaves_one_final_state(
    worker: WorkerProcess, job_events: JobEvents
) -> None:
    outcomes: dict[uuid.UUID, service.CancelOutcome] = {}
    for round_ in range(40):
        job = start("test_steps", config={"steps": 3, "rounds": 100 * (round_ % 5)})
        time.sleep(0.002 * (round_ % 10))
        with session_scope() as session:
            outcomes[job.id] = service.cancel_job(session=session, job=load(job.id)).outcome

    finals = {job_id: wait_terminal(job_id).status for job_id in outcomes}
    time.sleep(0.5)  # late handlers, if any, would land now

    for job_id, outcome in outcomes.items():
        final = load(job_id).status
        assert final == finals[job_id]
        if outcome is service.CancelOutcome.cancelled:
            assert final == JobStatus.cancelled
            assert executions(job_id) == []
        elif outcome is service.CancelOutcome.already_finished:
            assert final == JobStatus.completed
        else:
            assert final in (JobStatus.completed, JobStatus.cancelled)
    assert job_events.leaving_terminal() == []
    assert len(set(outcomes.values())) >= 2, outcomes  # the race was really run both ways


def test_broker_down_at_start_leaves_the_job_queued_for_the_sweep(worker: WorkerProcess) -> None:
    job = start("test_noop")
    wait_terminal(job.id)
    unreachable = Celery()
    # Nothing listens on port 1. (broker_url would lose to CELERY_BROKER_URL from the env.)
    unreachable.conf.broker_write_url = "redis://127.0.0.1:1/0"
    with session_scope() as session:
        queued = JobRun(job_type=job.job_type, stage="test_noop", queue="default")
        session.add(queued)
        session.commit()

    started = time.monotonic()
    published = publish_job(
        job_id=str(queued.id),
        job_type=queued.job_type,
        stage=queued.stage,
        priority=queued.priority,
        account="",
        app=unreachable,
    )

    assert published is False
    assert time.monotonic() - started < 5  # the API answers promptly
    assert load(queued.id).status == JobStatus.queued
    assert str(queued.id) in sweep_stalled_jobs(requeue_after_seconds=0).republished
    assert wait_terminal(queued.id).status == JobStatus.completed


def test_every_log_line_of_a_job_carries_its_identity(worker: WorkerProcess) -> None:
    job = start("test_broken")
    wait_terminal(job.id)

    lines = [line for line in worker.log().splitlines() if str(job.id) in line]
    failed = [line for line in lines if "job_failed" in line]
    assert len(failed) == 1, lines
    for field in (
        f"job_id={job.id}",
        "job_type=maintenance",
        "project_id=None",
        "attempt=1",
        "stage=test_broken",
    ):
        assert field in failed[0], failed[0]


def test_a_long_silent_step_keeps_its_lease_through_the_heartbeat(
    worker: WorkerProcess,
) -> None:
    job = start("test_silent", config={"seconds": LEASE * 1.6})
    wait_for(lambda: load(job.id).status == JobStatus.running, timeout=10, what="running")
    first_lease = load(job.id).lease_expires_at

    rescued: list[str] = []
    deadline = time.monotonic() + LEASE * 1.6 + 10
    while load(job.id).status == JobStatus.running and time.monotonic() < deadline:
        rescued += sweep_stalled_jobs(requeue_after_seconds=LEASE).rescued
        time.sleep(0.5)

    done = wait_terminal(job.id)
    assert rescued == []
    assert done.status == JobStatus.completed
    assert done.attempts == 1
    assert done.heartbeat_at is not None
    assert first_lease is not None
    assert done.heartbeat_at > first_lease - timedelta(seconds=LEASE)  # extended while silent
    assert len(executions(job.id)) == 1
