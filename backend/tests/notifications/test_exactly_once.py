"""Exactly once per event per target: a completion processed twice, two consumers at once,
and a real worker SIGKILLed in the middle of sending (delivered once after recovery)."""

import threading

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.core.db import session_scope
from app.jobs import service as jobs_service
from app.jobs.models import JobEvent, JobRun
from app.notifications import dispatch, tasks
from app.notifications.models import DeliveryStatus, NotificationDelivery
from app.projects.models import Project
from app.users.models import User
from tests.jobs.conftest import wait_for, wait_terminal
from tests.notifications.conftest import finish_job, settle
from tests.notifications.receiver import Reply, WebhookReceiver
from tests.notifications.test_webhooks import _hook
from tests.workers import celery_worker


def test_a_completion_processed_twice_is_sent_once(
    client: TestClient, session: Session, owner: User, project: Project, receiver: WebhookReceiver
) -> None:
    _hook(client, receiver, owner, project)
    job = finish_job(session, project)
    settle()
    receiver.wait_for(1)
    # The consumer handles the same outbox row again (a replay after a crash before its
    # commit looked like this): the unique (event, target) key makes nothing new.
    session.exec(select(JobEvent)).one().processed_at = None
    session.commit()
    with session_scope() as other:
        report = dispatch.dispatch_pending_events(session=other)
    assert (report.events, report.deliveries) == (1, 0)
    settle()
    assert len(receiver.seen) == 1
    (delivery,) = session.exec(select(NotificationDelivery)).all()
    assert delivery.job_id == job.id


def test_two_consumers_at_once_split_the_outbox(
    client: TestClient, session: Session, owner: User, project: Project, receiver: WebhookReceiver
) -> None:
    _hook(client, receiver, owner, project)
    jobs = [finish_job(session, project) for _ in range(40)]
    reports: list[dispatch.DispatchReport] = []
    barrier = threading.Barrier(2)

    def consume() -> None:
        barrier.wait()
        with session_scope() as own:
            reports.append(dispatch.dispatch_pending_events(session=own, batch=25))

    threads = [threading.Thread(target=consume) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    settle()
    seen = receiver.wait_for(40)
    assert sorted(s.payload["job"]["id"] for s in seen) == sorted(str(j.id) for j in jobs)
    # Each event was taken by one consumer: 40 deliveries in all, none twice.
    assert sum(r.events for r in reports) <= 40
    assert sum(r.deliveries for r in reports) <= 40
    assert len(session.exec(select(NotificationDelivery)).all()) == 40
    assert len({s.payload["id"] for s in seen}) == 40


def test_a_worker_killed_mid_send_delivers_once_after_recovery(
    client: TestClient, session: Session, owner: User, project: Project, receiver: WebhookReceiver
) -> None:
    _hook(client, receiver, owner, project)
    receiver.script.append(Reply(delay=10))  # the first attempt hangs: the worker dies in it
    env = {"WEBHOOK_TIMEOUT_SECONDS": "1", "SMTP_TIMEOUT": "1"}  # leases of 8 s
    with celery_worker(queues="default,low", env=env) as worker:
        # A real job, finished by the worker's runtime: its outbox row commits with it.
        job, _ = jobs_service.start_job(
            session=session,
            job_type="maintenance",
            stage="test_noop",
            project=project,
            user=None,
        )
        assert wait_terminal(job.id).status == "completed"
        tasks.dispatch_events.delay()  # what Beat does every few seconds
        receiver.wait_for_arrivals(1)
        worker.kill()  # SIGKILL, mid-send
    with session_scope() as check:
        (delivery,) = check.exec(select(NotificationDelivery)).all()
        assert delivery.status == DeliveryStatus.sending
    with celery_worker(queues="default,low", env=env):
        tasks.send_deliveries.delay()  # Beat's periodic send (or any later kick)
        wait_for(
            lambda: _status(delivery.id) == DeliveryStatus.delivered,
            timeout=40,
            what="the delivery after the lease expired",
        )
    answered = [s for s in receiver.seen if s.answered == 200]
    assert len(answered) == 1
    assert answered[0].payload["job"]["id"] == str(job.id)
    assert receiver.arrivals == 2  # the attempt that died, and the one that delivered
    with session_scope() as check:
        final = check.get(NotificationDelivery, delivery.id)
        assert final is not None
        assert final.attempts == 2
        job_row = check.get(JobRun, job.id)
        assert job_row is not None
        assert job_row.status == "completed"  # the receiver never touched the job


def _status(delivery_id: object) -> str:
    with session_scope() as check:
        delivery = check.get(NotificationDelivery, delivery_id)
        assert delivery is not None
        return str(delivery.status)
