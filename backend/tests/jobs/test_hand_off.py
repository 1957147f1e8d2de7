"""A job handed off from one stage to the next continues as the same job, on the next
stage's queue. In a module of its own, with a worker of its own: sharing test_runtime's
worker, still busy with what earlier tests left (soft-limit and retry jobs), once let the
second stage wait past the bound."""

from sqlmodel import Session

from app.core.db import driver_connection
from app.jobs import transitions
from app.jobs.models import JobStatus
from tests.jobs.conftest import JobEvents, executions, start, wait_terminal
from tests.jobs.rows import insert_job
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


def test_the_next_stage_starts_without_the_counters_of_the_last(session: Session) -> None:
    # Pages crawled are not pages rendered: the dashboard estimates a stage from its own
    # counters, so a hand-off clears them (the percentage and message carry on).
    job = insert_job(
        session,
        project=None,
        status=JobStatus.running,
        stage="crawl",
        progress_pct=80.0,
        progress_current=100,
        progress_total=100,
    )
    moved = transitions.hand_off(
        driver_connection(session),
        job_id=str(job.id),
        attempt=job.attempts,
        stage="render",
        queue="render",
        progress=transitions.Progress(pct=85.0, message="Rendering", current=120, total=120),
    )
    session.commit()
    assert moved
    session.refresh(job)
    assert (job.status, job.stage, job.progress_pct, job.progress_message) == (
        JobStatus.queued,
        "render",
        85.0,
        "Rendering",
    )
    assert (job.progress_current, job.progress_total) == (None, None)
