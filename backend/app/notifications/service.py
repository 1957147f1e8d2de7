"""Notification settings, webhook endpoints, the delivery log and the test buttons: what the
routes call. The outbox consumer is dispatch.py, the senders sending.py, the digest digest.py."""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core import secrets
from app.core.config import settings
from app.core.db import utcnow
from app.core.pagination import Page, PageRequest, paginate
from app.notifications import links, mailer, messages, sending, signing, webhook_client
from app.notifications.dispatch import event_payload
from app.notifications.models import (
    Channel,
    DeliveryPublic,
    DeliveryStatus,
    NotificationDelivery,
    NotificationEvent,
    NotificationMessage,
    NotificationMute,
    NotificationRecipient,
    NotificationRules,
    NotificationSettingsPublic,
    NotificationSettingsUpdate,
    RecipientPublic,
    SendTestPublic,
    UserNotificationSettings,
    UserNotificationSettingsPublic,
    UserNotificationSettingsUpdate,
    WebhookCreate,
    WebhookCreated,
    WebhookEndpoint,
    WebhookPublic,
    WebhookUpdate,
)
from app.projects.models import Project
from app.users.models import User


class WebhookLimitError(Exception):
    """The project has WEBHOOKS_PER_PROJECT endpoints already."""


WebhookUrlError = webhook_client.WebhookUrlError


# --- Project settings ----------------------------------------------------------------------


def _rules(session: Session, project: Project) -> NotificationRules:
    return session.get(NotificationRules, project.id) or NotificationRules(project_id=project.id)


def get_settings(*, session: Session, project: Project, user: User) -> NotificationSettingsPublic:
    rules = _rules(session, project)
    mute = session.get(NotificationMute, (user.id, project.id))
    recipients = session.exec(
        select(NotificationRecipient)
        .where(col(NotificationRecipient.project_id) == project.id)
        .order_by(col(NotificationRecipient.created_at))
    ).all()
    return NotificationSettingsPublic(
        email_events=[NotificationEvent(e) for e in rules.email_events],
        job_types=rules.job_types,
        notify_owner=rules.notify_owner,
        rank_drop_positions=rules.rank_drop_positions,
        recipients=[
            RecipientPublic(
                email=r.email,
                confirmed=r.confirmed_at is not None,
                unsubscribed=r.unsubscribed_at is not None,
            )
            for r in recipients
        ],
        muted=mute is not None and mute.muted,
        muted_events=[] if mute is None else [NotificationEvent(e) for e in mute.events],
        email_configured=mailer.configured(),
    )


def update_settings(
    *, session: Session, project: Project, user: User, update: NotificationSettingsUpdate
) -> NotificationSettingsPublic:
    """Rules are the project's (its owner's to change, like the project); mutes the caller's.
    New recipient addresses are mailed a confirmation link and receive nothing before."""
    rules = _rules(session, project)
    if update.email_events is not None:
        rules.email_events = sorted({e.value for e in update.email_events})
    if update.all_job_types:
        rules.job_types = None
    elif update.job_types is not None:
        rules.job_types = sorted(set(update.job_types))
    if update.notify_owner is not None:
        rules.notify_owner = update.notify_owner
    if update.rank_drop_positions is not None:
        rules.rank_drop_positions = update.rank_drop_positions
    rules.updated_at = utcnow()
    session.add(rules)
    if update.recipients is not None:
        _set_recipients(session, project, [str(e).strip().lower() for e in update.recipients])
    if update.muted is not None or update.muted_events is not None:
        mute = session.get(NotificationMute, (user.id, project.id)) or NotificationMute(
            user_id=user.id, project_id=project.id
        )
        if update.muted is not None:
            mute.muted = update.muted
        if update.muted_events is not None:
            mute.events = sorted({e.value for e in update.muted_events})
        session.add(mute)
    session.commit()
    return get_settings(session=session, project=project, user=user)


def _set_recipients(session: Session, project: Project, emails: list[str]) -> None:
    existing = {
        r.email: r
        for r in session.exec(
            select(NotificationRecipient).where(col(NotificationRecipient.project_id) == project.id)
        ).all()
    }
    for email, recipient in existing.items():
        if email not in emails:
            session.delete(recipient)
    for email in dict.fromkeys(emails):
        if email in existing:
            continue
        recipient = NotificationRecipient(project_id=project.id, email=email)
        session.add(recipient)
        session.flush()
        confirm = messages.compose(
            to=email,
            title=f"Confirm notifications for {project.name}",
            paragraphs=[
                f"Someone added this address to the notifications of {project.name} "
                f"({project.site_url}) on SEO Platform.",
                "Nothing is sent to it until you confirm. Ignore this email if it was not you.",
            ],
            link=("Confirm this address", links.confirm_recipient(recipient.id, email)),
        )
        sending.queue_email(session, project=project, event_type="recipient.confirm", email=confirm)


# --- Signed links (no login) ---------------------------------------------------------------


def confirm_recipient(*, session: Session, token: str) -> str | None:
    claims = signing.read_link(links.CONFIRM, token)
    try:
        recipient_id = None if claims is None else uuid.UUID(str(claims["r"]))
    except (KeyError, ValueError):
        recipient_id = None
    if claims is None or recipient_id is None:
        return None
    recipient = session.get(NotificationRecipient, recipient_id)
    if recipient is None or recipient.email != claims.get("e"):
        return None
    if recipient.confirmed_at is None:
        recipient.confirmed_at = utcnow()
    recipient.unsubscribed_at = None
    session.add(recipient)
    session.commit()
    return f"{recipient.email} will receive this project's notifications."


def unsubscribe(*, session: Session, token: str) -> str | None:
    """Honours an unsubscribe link: a recipient's, an owner's for one project, or a digest's."""
    claims = signing.read_link(links.UNSUBSCRIBE, token)
    if claims is None:
        return None
    try:
        if "r" in claims:
            recipient = session.get(NotificationRecipient, uuid.UUID(claims["r"]))
            if recipient is None:
                return "This address no longer receives these notifications."
            recipient.unsubscribed_at = recipient.unsubscribed_at or utcnow()
            session.add(recipient)
            session.commit()
            return f"{recipient.email} will no longer receive this project's notifications."
        user_id = uuid.UUID(claims["u"])
        if session.get(User, user_id) is None:
            return None
        if claims.get("d"):
            prefs = session.get(UserNotificationSettings, user_id) or UserNotificationSettings(
                user_id=user_id
            )
            prefs.digest_enabled = False
            session.add(prefs)
            session.commit()
            return "You will no longer receive the daily digest."
        project_id = uuid.UUID(claims["p"])
        if session.get(Project, project_id) is None:
            return "This project no longer exists."
        mute = session.get(NotificationMute, (user_id, project_id)) or NotificationMute(
            user_id=user_id, project_id=project_id
        )
        mute.muted = True
        session.add(mute)
        session.commit()
        return "You will no longer receive this project's notifications."
    except (KeyError, ValueError):
        return None


# --- User settings -------------------------------------------------------------------------


def get_user_settings(*, session: Session, user: User) -> UserNotificationSettingsPublic:
    prefs = session.get(UserNotificationSettings, user.id) or UserNotificationSettings(
        user_id=user.id
    )
    return UserNotificationSettingsPublic(
        timezone=prefs.timezone, digest_enabled=prefs.digest_enabled
    )


def update_user_settings(
    *, session: Session, user: User, update: UserNotificationSettingsUpdate
) -> UserNotificationSettingsPublic:
    prefs = session.get(UserNotificationSettings, user.id) or UserNotificationSettings(
        user_id=user.id
    )
    if update.timezone is not None:
        prefs.timezone = update.timezone
    if update.digest_enabled is not None:
        prefs.digest_enabled = update.digest_enabled
    session.add(prefs)
    session.commit()
    return get_user_settings(session=session, user=user)


# --- Webhooks ------------------------------------------------------------------------------


def public_webhook(endpoint: WebhookEndpoint) -> WebhookPublic:
    return WebhookPublic(
        id=endpoint.id,
        project_id=endpoint.project_id,
        url=endpoint.url,
        events=[NotificationEvent(e) for e in endpoint.events],
        enabled=endpoint.enabled,
        consecutive_failures=endpoint.consecutive_failures,
        disabled_reason=endpoint.disabled_reason,
        created_at=endpoint.created_at,
    )


def create_webhook(
    *, session: Session, project: Project, webhook_in: WebhookCreate
) -> WebhookCreated:
    """Raises WebhookUrlError (private address, bad URL) or WebhookLimitError."""
    url = webhook_client.check_url(webhook_in.url)
    count = session.exec(
        select(sa.func.count()).where(col(WebhookEndpoint.project_id) == project.id)
    ).one()
    if count >= settings.WEBHOOKS_PER_PROJECT:
        raise WebhookLimitError(
            f"a project has at most {settings.WEBHOOKS_PER_PROJECT} webhooks; delete one first"
        )
    secret = signing.new_webhook_secret()
    endpoint = WebhookEndpoint(
        project_id=project.id,
        url=url,
        secret=secrets.encrypt_json({"secret": secret}),
        events=sorted({e.value for e in webhook_in.events}),
    )
    session.add(endpoint)
    session.commit()
    return WebhookCreated(**public_webhook(endpoint).model_dump(), secret=secret)


def list_webhooks(*, session: Session, project: Project) -> list[WebhookPublic]:
    endpoints = session.exec(
        select(WebhookEndpoint)
        .where(col(WebhookEndpoint.project_id) == project.id)
        .order_by(col(WebhookEndpoint.created_at))
    ).all()
    return [public_webhook(e) for e in endpoints]


def update_webhook(
    *, session: Session, endpoint: WebhookEndpoint, update: WebhookUpdate
) -> WebhookPublic:
    if update.events is not None:
        endpoint.events = sorted({e.value for e in update.events})
    if update.enabled is not None:
        endpoint.enabled = update.enabled
        if update.enabled:
            endpoint.consecutive_failures = 0
            endpoint.disabled_reason = None
    session.add(endpoint)
    session.commit()
    return public_webhook(endpoint)


def delete_webhook(*, session: Session, endpoint: WebhookEndpoint) -> None:
    session.delete(endpoint)
    session.commit()


def webhook_for_user(
    *, session: Session, webhook_id: uuid.UUID, user: User
) -> WebhookEndpoint | None:
    from app.projects import service as projects_service

    endpoint = session.get(WebhookEndpoint, webhook_id)
    if endpoint is None:
        return None
    project = projects_service.get_project_for_user(
        session=session, project_id=endpoint.project_id, user=user
    )
    return None if project is None else endpoint


# --- The delivery log ----------------------------------------------------------------------


def public_delivery(delivery: NotificationDelivery) -> DeliveryPublic:
    return DeliveryPublic.model_validate(delivery, from_attributes=True)


def list_deliveries(
    *, session: Session, endpoint: WebhookEndpoint, page: PageRequest
) -> Page[DeliveryPublic]:
    statement = (
        select(NotificationDelivery)
        .where(col(NotificationDelivery.endpoint_id) == endpoint.id)
        .order_by(col(NotificationDelivery.created_at).desc(), col(NotificationDelivery.id))
    )
    found = paginate(session, statement, page)
    return found.with_rows([public_delivery(d) for d in found.rows])


def list_project_emails(
    *, session: Session, project: Project, page: PageRequest
) -> Page[DeliveryPublic]:
    statement = (
        select(NotificationDelivery)
        .where(
            col(NotificationDelivery.project_id) == project.id,
            col(NotificationDelivery.channel) == Channel.email.value,
        )
        .order_by(col(NotificationDelivery.created_at).desc(), col(NotificationDelivery.id))
    )
    found = paginate(session, statement, page)
    return found.with_rows([public_delivery(d) for d in found.rows])


def redeliver(
    *, session: Session, endpoint: WebhookEndpoint, delivery_id: uuid.UUID
) -> NotificationDelivery | None:
    """Sends a finished delivery again (same event id and body) as a new attempt series."""
    delivery = session.get(NotificationDelivery, delivery_id)
    if delivery is None or delivery.endpoint_id != endpoint.id:
        return None
    if delivery.status in (DeliveryStatus.delivered, DeliveryStatus.failed, DeliveryStatus.skipped):
        delivery.status = DeliveryStatus.pending
        delivery.next_attempt_at = utcnow()
        delivery.finished_at = None
        delivery.attempts = 0
        session.add(delivery)
        session.commit()
    return delivery


# --- Test buttons --------------------------------------------------------------------------


def _test_result(
    delivery: NotificationDelivery, result: sending.Result, what: str
) -> SendTestPublic:
    if result.delivered:
        detail = (
            f"{what} answered {result.status_code}" if result.status_code else f"{what} accepted it"
        )
    elif result.skipped:
        detail = result.error or "skipped"
    else:
        detail = result.error or "failed"
    return SendTestPublic(
        ok=result.delivered,
        status=delivery.status,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        response_excerpt=result.excerpt,
        detail=detail,
    )


def send_test_webhook(*, session: Session, endpoint: WebhookEndpoint) -> SendTestPublic:
    """A signed ping, sent now; answers with the receiver's status and the start of its body."""
    project = session.get(Project, endpoint.project_id)
    assert project is not None
    event_id = uuid.uuid4()
    payload: dict[str, Any] = event_payload(
        event_id=event_id,
        kind="webhook.test",
        project=project,
        job=None,
        summary="A test of this webhook from SEO Platform",
        dashboard_url=links.dashboard(f"/projects/{project.id}"),
    )
    session.add(
        NotificationMessage(
            id=event_id, event_type="webhook.test", project_id=project.id, payload_json=payload
        )
    )
    session.flush()
    delivery = NotificationDelivery(
        event_id=event_id,
        event_type="webhook.test",
        project_id=project.id,
        channel=Channel.webhook,
        endpoint_id=endpoint.id,
        target=str(endpoint.id),
    )
    session.add(delivery)
    session.commit()
    current, result = sending.send_now(delivery.id)
    return _test_result(current, result, "The receiver")


def send_test_email(*, session: Session, project: Project, user: User) -> SendTestPublic:
    email = messages.compose(
        to=user.email,
        title=f"Test email for {project.name}",
        paragraphs=["This is a test of SEO Platform's notification emails. It works."],
        link=("Notification settings", links.dashboard(f"/projects/{project.id}")),
    )
    delivery = sending.queue_email(session, project=project, event_type="email.test", email=email)
    session.commit()
    current, result = sending.send_now(delivery.id)
    return _test_result(current, result, "The SMTP server")


# --- Retention -----------------------------------------------------------------------------

# An event goes with its deliveries (and their attempts: foreign keys ON DELETE CASCADE),
# once none of them is still waiting to be sent.
_PURGE = sa.text("""
    DELETE FROM notification_events WHERE id IN (
        SELECT e.id FROM notification_events AS e
        WHERE e.created_at < now() - make_interval(days => :days)
          AND NOT EXISTS (
              SELECT 1 FROM notification_deliveries AS d
              WHERE d.event_id = e.id AND d.status IN ('pending', 'sending'))
        LIMIT :batch
    )
""")


def purge_old_events(session: Session, batch: int) -> int:
    """Retention rule: events older than JOB_RETENTION_DAYS whose deliveries are finished,
    with those deliveries."""
    result = session.execute(_PURGE, {"days": settings.JOB_RETENTION_DAYS, "batch": batch})
    return int(result.rowcount)  # type: ignore[attr-defined]
