"""The job seam's outbox: every terminal transition writes its job_events row in the same
statement (worker completion, failure, cancel; cancel of a waiting job; the rescue sweep's
worker-lost and queue-stalled failures and abandoned cancels; the retry path's final
failure), and a transition replayed writes nothing more."""

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.core.db import driver_connection, utcnow
from app.jobs import runtime, transitions
from app.jobs import service as jobs_service
from app.jobs.errors import TransientJobError
from app.jobs.models import JobEvent, JobRun, JobStatus
from app.jobs.rescue import sweep_stalled_jobs
from app.projects.models import Project
from tests.notifications.conftest import finish_job, running_job


def _events(session: Session) -> list[tuple[str, str, int]]:
    session.expire_all()
    rows = session.exec(select(JobEvent)).all()
    return sorted((str(e.job_id), str(e.event), e.attempt) for e in rows)


@pytest.mark.parametrize("outcome", ["completed", "failed", "cancelled"])
def test_a_worker_s_terminal_transition_writes_its_event(
    session: Session, project: Project, outcome: str
) -> None:
    job = finish_job(session, project, outcome=outcome)
    assert job.status == outcome
    (event,) = session.exec(select(JobEvent)).all()
    assert (event.job_id, event.event, event.attempt) == (job.id, outcome, 1)
    assert (event.job_type, event.project_id) == ("maintenance", project.id)
    assert event.occurred_at == job.finished_at
    assert event.processed_at is None


def test_a_transition_replayed_writes_once(session: Session, project: Project) -> None:
    job = finish_job(session, project)
    connection = driver_connection(session, autocommit=True)
    # The same completion again (a statement retried after its connection died): no row moves.
    assert transitions.complete(connection, job_id=str(job.id), attempt=1, result={}) is None
    assert _events(session) == [(str(job.id), "completed", 1)]


def test_an_event_already_recorded_does_not_block_the_transition(
    session: Session, project: Project
) -> None:
    job = running_job(session, project)
    session.add(
        JobEvent(
            job_id=job.id,
            event="completed",
            attempt=1,
            job_type=job.job_type,
            project_id=project.id,
            occurred_at=utcnow(),
        )
    )
    session.commit()
    finish_job(session, project, job=job)
    assert _events(session) == [(str(job.id), "completed", 1)]


def test_cancelling_a_waiting_job_writes_its_event(session: Session, project: Project) -> None:
    job = running_job(session, project)
    session.execute(sa.update(JobRun).where(JobRun.id == job.id).values(status="queued"))
    session.commit()
    result = jobs_service.cancel_job(session=session, job=job)
    assert result.outcome is jobs_service.CancelOutcome.cancelled
    assert _events(session) == [(str(job.id), "cancelled", 1)]
    # Cancelling again is a no-op, and writes nothing.
    jobs_service.cancel_job(session=session, job=job)
    assert len(_events(session)) == 1


def test_the_rescue_sweep_writes_events_for_what_it_ends(
    session: Session, project: Project
) -> None:
    past = utcnow() - timedelta(hours=1)
    lost = running_job(session, project, lease_expires_at=past)
    session.execute(sa.update(JobRun).where(JobRun.id == lost.id).values(attempts=3))
    abandoned = running_job(session, project, lease_expires_at=past, cancel_requested_at=past)
    rescued = running_job(session, project, lease_expires_at=past)  # attempts left: retried
    stalled = running_job(session, project)
    session.execute(
        sa.update(JobRun)
        .where(JobRun.id == stalled.id)
        .values(status="queued", queue="low", updated_at=past, lease_expires_at=None)
    )
    session.commit()
    report = sweep_stalled_jobs(requeue_after_seconds=5, stall_after_seconds=60)
    assert report.failed == [str(lost.id)]
    assert report.cancelled == [str(abandoned.id)]
    assert report.stalled == [str(stalled.id)]
    assert report.rescued == [str(rescued.id)]
    assert _events(session) == sorted(
        [
            (str(lost.id), "failed", 3),
            (str(abandoned.id), "cancelled", 1),
            (str(stalled.id), "failed", 1),
        ]
    )
    categories = {
        job.id: job.error_category
        for job in session.exec(select(JobRun).execution_options(populate_existing=True)).all()
    }
    assert categories[lost.id] == "worker_lost"
    assert categories[stalled.id] == "queue_stalled"


def test_the_retry_path_s_final_failure_writes_its_event(
    session: Session, project: Project
) -> None:
    job = running_job(session, project)
    session.execute(
        sa.update(JobRun)
        .where(JobRun.id == job.id)
        .values(
            status="queued", attempts=0, max_attempts=1, stage="test_flaky_final", started_at=None
        )
    )
    session.commit()

    def body(_: Any) -> dict[str, Any]:
        raise TransientJobError("the provider timed out", category="timeout")

    runtime.run_stage(
        job_id=str(job.id), job_type="maintenance", stage="test_flaky_final", body=body
    )
    session.expire_all()
    ended = session.get(JobRun, job.id)
    assert ended is not None
    assert ended.status == JobStatus.failed
    assert "gave up after 1 attempts" in (ended.error_message or "")
    assert _events(session) == [(str(job.id), "failed", 1)]


def test_consumers_claim_events_once_and_mark_them(session: Session, project: Project) -> None:
    jobs = [finish_job(session, project) for _ in range(3)]
    claimed = jobs_service.claim_job_events(session=session, batch=10)
    assert {e.job_id for e in claimed} == {j.id for j in jobs}
    # A second consumer meanwhile sees none of the locked rows.
    from app.core.db import session_scope

    with session_scope() as other:
        assert jobs_service.claim_job_events(session=other, batch=10) == []
    jobs_service.mark_job_events_processed(session=session, events=claimed)
    session.commit()
    assert jobs_service.claim_job_events(session=session, batch=10) == []
    session.rollback()
