"""Fixtures of the notification tests: a webhook receiver and an SMTP server (real, local,
module-scoped), and the pieces that finish jobs and drive the outbox and the senders."""

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import Session

from app.core.config import settings
from app.core.db import driver_connection, utcnow
from app.jobs import transitions
from app.jobs.models import JobRun, JobStatus
from app.notifications import dispatch, sending
from app.projects.models import Project
from app.users.models import User
from tests.builders import create_project, create_user
from tests.notifications.receiver import WebhookReceiver
from tests.notifications.smtp import Inbox, start_smtp


@pytest.fixture(scope="module")
def _receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(_receiver: WebhookReceiver) -> Iterator[WebhookReceiver]:
    _receiver.reset()
    yield _receiver
    _receiver.reset()


@pytest.fixture(scope="module")
def _smtp() -> Iterator[tuple[Inbox, int]]:
    controller, inbox, port = start_smtp()
    yield inbox, port
    controller.stop()


@pytest.fixture
def inbox(_smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch) -> Inbox:
    """Email configured towards the local SMTP server (plain SMTP, no TLS)."""
    inbox, port = _smtp
    inbox.messages.clear()
    monkeypatch.setattr(settings, "SMTP_HOST", "127.0.0.1")
    monkeypatch.setattr(settings, "SMTP_PORT", port)
    monkeypatch.setattr(settings, "SMTP_TLS", "none")
    return inbox


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "WEBHOOK_RETRY_BASE_SECONDS", 0.05)
    monkeypatch.setattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 0.5)


@pytest.fixture
def owner(session: Session) -> User:
    return create_user(session, email=f"owner-{uuid.uuid4().hex[:8]}@example.com")


@pytest.fixture
def project(session: Session, owner: User) -> Project:
    return create_project(session, owner=owner, name="Shop", site_url="https://shop.example.com")


def running_job(
    session: Session, project: Project | None, *, job_type: str = "maintenance", **fields: Any
) -> JobRun:
    """A job as a worker holds it (running, attempt 1), committed."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": JobStatus.running,
        "stage": "test",
        "attempts": 1,
        "max_attempts": 3,
        "queued_at": now,
        "started_at": now,
        "lease_expires_at": now + timedelta(minutes=5),
        **fields,
    }
    job = JobRun(job_type=job_type, project_id=None if project is None else project.id, **values)
    session.add(job)
    session.commit()
    return job


def finish_job(
    session: Session,
    project: Project | None,
    *,
    outcome: str = "completed",
    job_type: str = "maintenance",
    job: JobRun | None = None,
) -> JobRun:
    """Ends a running job through the runtime's own terminal transitions."""
    job = job or running_job(session, project, job_type=job_type)
    connection = driver_connection(session, autocommit=True)
    if outcome == "completed":
        ran = transitions.complete(connection, job_id=str(job.id), attempt=1, result={"pages": 3})
    elif outcome == "failed":
        ran = transitions.fail(
            connection,
            job_id=str(job.id),
            attempt=1,
            category="unauthorized",
            message="the provider refused the credentials (401)",
            traceback=None,
        )
    else:
        ran = transitions.cancel_running(connection, job_id=str(job.id), attempt=1, result=None)
    assert ran is not None
    session.commit()
    refreshed = session.get(JobRun, job.id, populate_existing=True)
    assert refreshed is not None
    return refreshed


def settle(timeout: float = 30.0) -> None:
    """Runs the outbox consumer and the senders until nothing waits (retries included)."""
    deadline = time.monotonic() + timeout
    from app.core.db import session_scope

    while time.monotonic() < deadline:
        with session_scope() as session:
            dispatch.dispatch_pending_events(session=session)
        sending.drain(budget=10)
        due = sending.next_due_in()
        if due is None:
            return
        time.sleep(min(due, 0.5))
    raise TimeoutError("deliveries still pending")
