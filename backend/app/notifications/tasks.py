"""Celery shells: the outbox consumer (Beat every few seconds), the sender and the digest
(Beat hourly), all on the `low` queue so they never hold up a job's worker slot."""

from typing import Any

from app.core.celery_app import celery_app
from app.core.db import session_scope
from app.jobs.beat import SCHEDULED_START_RETRY
from app.notifications import digest, dispatch, sending

SEND_TASK = "app.notifications.tasks.send_deliveries"


@celery_app.task(
    name="app.notifications.tasks.dispatch_events", ignore_result=True, **SCHEDULED_START_RETRY
)
def dispatch_events() -> dict[str, Any]:
    """Turns the outbox's new rows into deliveries (a few batches), then wakes a sender."""
    total = dispatch.DispatchReport()
    with session_scope() as session:
        for _ in range(20):
            report = dispatch.dispatch_pending_events(session=session)
            total.events += report.events
            total.deliveries += report.deliveries
            if report.events < dispatch.DISPATCH_BATCH:
                break
        more = report.events >= dispatch.DISPATCH_BATCH
    if total.deliveries:
        send_deliveries.apply_async()
    if more:
        dispatch_events.apply_async()
    return {"events": total.events, "deliveries": total.deliveries}


@celery_app.task(name=SEND_TASK, ignore_result=True, acks_late=True)
def send_deliveries() -> dict[str, Any]:
    """Sends what is due; schedules itself again for the next retry it knows of."""
    report = sending.drain()
    if report.out_of_time:
        send_deliveries.apply_async()
    else:
        due = sending.next_due_in()
        if due is not None and due < 60:
            send_deliveries.apply_async(countdown=max(due, 0.05))
    return {"sent": report.sent, "retries": report.retries}


@celery_app.task(
    name="app.notifications.tasks.send_digests", ignore_result=True, **SCHEDULED_START_RETRY
)
def send_digests() -> int:
    """Hourly: the daily digest of every user whose local time is 07:00."""
    with session_scope() as session:
        queued = digest.queue_due_digests(session=session)
    if queued:
        send_deliveries.apply_async()
    return queued
