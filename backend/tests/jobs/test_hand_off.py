"""A job handed off from one stage to the next continues as the same job, on the next
stage's queue. In a module of its own, with a worker of its own: sharing test_runtime's
worker, still busy with what earlier tests left (soft-limit and retry jobs), once let the
second stage wait past the bound."""

from app.jobs.models import JobStatus
from tests.jobs.conftest import JobEvents, executions, start, wait_terminal
from tests.workers import celery_worker


def test_hand_off_continues_the_same_job_on_another_queue(job_events: JobEvents) -> None:
    with celery_worker(concurrency=2):
        job = start("test_first")
        done = wait_terminal(job.id, timeout=30)

    assert done.status == JobStatus.completed
    assert (done.stage, done.queue, done.attempts) == ("test_second", "low", 1)
    assert [e.split(":")[:2] for e in executions(job.id)] == [
        ["test_first", "1"],
        ["test_second", "1"],
    ]
    statuses = [e.new_status for e in job_events.for_job(job.id)]
    assert statuses == ["running", "queued", "running", "completed"]
