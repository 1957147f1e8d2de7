"""The daily clean-up's notification rule: an old event goes with its deliveries (and their
attempts) once none of them still waits to be sent."""

import uuid
from datetime import timedelta

from sqlmodel import Session, select

from app.core.config import settings
from app.core.db import utcnow
from app.notifications import service
from app.notifications.models import (
    Channel,
    DeliveryStatus,
    NotificationDelivery,
    NotificationMessage,
)
from app.projects.models import Project


def _event(session: Session, project: Project, days_ago: int, status: DeliveryStatus) -> uuid.UUID:
    created = utcnow() - timedelta(days=days_ago)
    event = NotificationMessage(
        id=uuid.uuid4(),
        event_type="job.completed",
        project_id=project.id,
        payload_json={"type": "job.completed"},
        created_at=created,
    )
    session.add(event)
    session.flush()
    for target in ("a@example.com", "b@example.com"):
        session.add(
            NotificationDelivery(
                event_id=event.id,
                event_type=event.event_type,
                project_id=project.id,
                channel=Channel.email,
                recipient=target,
                target=target,
                status=status,
                created_at=created,
            )
        )
    session.commit()
    return event.id


def test_old_finished_events_go_with_their_deliveries(session: Session, project: Project) -> None:
    old = settings.JOB_RETENTION_DAYS + 1
    gone = _event(session, project, old, DeliveryStatus.delivered)
    waiting = _event(session, project, old, DeliveryStatus.pending)
    recent = _event(session, project, 1, DeliveryStatus.delivered)
    assert service.purge_old_events(session, 100) == 1
    session.commit()
    session.expire_all()
    assert {e.id for e in session.exec(select(NotificationMessage))} == {waiting, recent}
    assert {d.event_id for d in session.exec(select(NotificationDelivery))} == {waiting, recent}
    assert gone not in {d.event_id for d in session.exec(select(NotificationDelivery))}
