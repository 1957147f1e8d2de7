"""Notification rules (per project, per user), webhook endpoints, and the deliveries made
from the job runtime's outbox (docs/architecture.md, "Notifications")."""

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import available_timezones

import sqlalchemy as sa
from pydantic import EmailStr, field_validator
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.pagination import PagePublic
from app.jobs.models import DeclaredJobType


class NotificationEvent(StrEnum):
    """What a webhook or an email can be sent for (DESIGN.md's event names)."""

    job_completed = "job.completed"
    job_failed = "job.failed"
    job_cancelled = "job.cancelled"
    audit_finished = "audit.finished"
    audit_new_errors = "audit.new_errors"
    rank_dropped = "rank.dropped"
    sync_failing = "sync.failing"


# Messages of the platform itself, never subscribed to: they are sent whatever the rules.
SYSTEM_EVENTS = ("webhook.test", "webhook.disabled", "email.test", "recipient.confirm")


class Channel(StrEnum):
    webhook = "webhook"
    email = "email"


class DeliveryStatus(StrEnum):
    pending = "pending"  # waiting for its (next) attempt
    sending = "sending"  # claimed by a sender, under a lease
    delivered = "delivered"
    failed = "failed"  # attempts exhausted, or refused for good
    skipped = "skipped"  # nothing to send it with (no SMTP configured, endpoint disabled)


DEFAULT_EMAIL_EVENTS = [
    NotificationEvent.job_failed.value,
    NotificationEvent.audit_finished.value,
    NotificationEvent.sync_failing.value,
]


def _text_array() -> Any:
    return sa.Column(ARRAY(sa.String(32)), nullable=False, server_default="{}")


def _at(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=nullable)


class NotificationRules(SQLModel, table=True):
    """A project's email rules (webhooks carry their own events). No row: the defaults."""

    __tablename__ = "notification_rules"

    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    email_events: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EMAIL_EVENTS), sa_column=_text_array()
    )
    # Job types the job.* events are sent for; None: every type.
    job_types: list[str] | None = Field(default=None, sa_type=ARRAY(sa.String(32)))
    notify_owner: bool = True
    rank_drop_positions: int = 5
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class NotificationRecipient(SQLModel, table=True):
    """An address besides the owner's; it receives nothing until it confirmed (a signed link
    mailed to it), and nothing after it unsubscribed."""

    __tablename__ = "notification_recipients"
    __table_args__ = (sa.UniqueConstraint("project_id", "email"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    email: str = Field(max_length=320)
    confirmed_at: datetime | None = _at()
    unsubscribed_at: datetime | None = _at()
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class NotificationMute(SQLModel, table=True):
    """What a user does not want to hear about one project: all of it, or some events."""

    __tablename__ = "notification_mutes"

    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    muted: bool = False
    events: list[str] = Field(default_factory=list, sa_column=_text_array())


class UserNotificationSettings(SQLModel, table=True):
    """A user's own settings: time zone (the digest goes out at 07:00 there) and digest."""

    __tablename__ = "user_notification_settings"

    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", primary_key=True)
    timezone: str = Field(default="UTC", max_length=64)
    digest_enabled: bool = True
    # The local date of the last digest sent: one a day, however often Beat fires.
    digest_sent_on: date | None = None


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    url: str = Field(max_length=2048)
    secret: bytes = Field(sa_type=sa.LargeBinary)  # core/secrets.py, Fernet
    events: list[str] = Field(default_factory=list, sa_column=_text_array())
    enabled: bool = True
    consecutive_failures: int = 0
    disabled_reason: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class NotificationMessage(SQLModel, table=True):
    """A notification event's content, stored once however many targets it goes to: the
    webhook body (dispatch.event_payload) its deliveries send and their emails are made of,
    or an email composed when it was queued (`{"type", "user_id", "email": {...}}`)."""

    __tablename__ = "notification_events"

    id: uuid.UUID = Field(primary_key=True)  # the event id (receivers dedupe on it)
    event_type: str = Field(max_length=32)
    project_id: uuid.UUID | None = Field(
        default=None, foreign_key="projects.id", ondelete="CASCADE"
    )
    job_id: uuid.UUID | None = None
    payload_json: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class NotificationDelivery(SQLModel, table=True):
    """One message to one target (a webhook endpoint or an email address) for one event:
    unique per (event, target), so an event handled twice sends once. The content is the
    event's (NotificationMessage), shared by its deliveries; a delivery row holds only its
    own progress, so the senders' updates stay small."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "target"),
        # An endpoint's delivery log, newest first.
        sa.Index(
            "ix_notification_deliveries_endpoint_id_created_at",
            "endpoint_id",
            sa.text("created_at DESC"),
        ),
        # What the senders wait for: stays small.
        sa.Index(
            "ix_notification_deliveries_due",
            "next_attempt_at",
            postgresql_where=sa.text("status IN ('pending', 'sending')"),
        ),
        # A project's emails, newest first (the dashboard shows skipped ones); webhook
        # deliveries (most of them) are not indexed here.
        sa.Index(
            "ix_notification_deliveries_project_id_created_at",
            "project_id",
            sa.text("created_at DESC"),
            postgresql_where=sa.text("channel = 'email'"),
        ),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    # The notification's id (webhook payloads carry it: receivers dedupe on it).
    event_id: uuid.UUID = Field(foreign_key="notification_events.id", ondelete="CASCADE")
    event_type: str = Field(max_length=32)
    project_id: uuid.UUID | None = Field(
        default=None, foreign_key="projects.id", ondelete="CASCADE"
    )
    job_id: uuid.UUID | None = None
    channel: Channel = Field(sa_type=sa.String(16))
    endpoint_id: uuid.UUID | None = Field(
        default=None, foreign_key="webhook_endpoints.id", ondelete="CASCADE"
    )
    recipient: str | None = Field(default=None, max_length=320)
    target: str = Field(max_length=320)  # the endpoint's id or the address
    status: DeliveryStatus = Field(default=DeliveryStatus.pending, sa_type=sa.String(16))
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    lease_expires_at: datetime | None = _at()
    last_status_code: int | None = None
    last_latency_ms: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    response_excerpt: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = _at()


class DeliveryAttempt(SQLModel, table=True):
    """Each attempt of a delivery, for the log."""

    __tablename__ = "notification_delivery_attempts"

    id: int | None = Field(
        default=None, sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True)
    )
    delivery_id: uuid.UUID = Field(
        foreign_key="notification_deliveries.id", ondelete="CASCADE", index=True
    )
    attempt: int
    at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    status_code: int | None = None
    latency_ms: int | None = None
    error: str | None = Field(default=None, max_length=500)
    response_excerpt: str | None = Field(default=None, max_length=2000)


# --- API schemas ---------------------------------------------------------------------------


class RecipientPublic(SQLModel):
    email: str
    confirmed: bool
    unsubscribed: bool


class NotificationSettingsPublic(SQLModel):
    """A project's rules, and the calling user's mutes of it."""

    email_events: list[NotificationEvent]
    job_types: list[str] | None
    notify_owner: bool
    rank_drop_positions: int
    recipients: list[RecipientPublic]
    muted: bool
    muted_events: list[NotificationEvent]
    # False: emails are skipped (no SMTP_HOST); their deliveries show `skipped`.
    email_configured: bool


class NotificationSettingsUpdate(SQLModel):
    email_events: list[NotificationEvent] | None = Field(default=None, max_length=16)
    job_types: list[DeclaredJobType] | None = Field(default=None, max_length=32)
    all_job_types: bool | None = None  # true: clears job_types (every type)
    notify_owner: bool | None = None
    rank_drop_positions: int | None = Field(default=None, ge=1, le=100)
    # The full list of extra addresses; new ones are sent a confirmation link.
    recipients: list[EmailStr] | None = Field(default=None, max_length=20)
    muted: bool | None = None
    muted_events: list[NotificationEvent] | None = Field(default=None, max_length=16)


class WebhookCreate(SQLModel):
    url: str = Field(min_length=1, max_length=2048)
    events: list[NotificationEvent] = Field(min_length=1, max_length=16)


class WebhookUpdate(SQLModel):
    events: list[NotificationEvent] | None = Field(default=None, min_length=1, max_length=16)
    enabled: bool | None = None  # true re-enables a disabled endpoint


class WebhookPublic(SQLModel):
    id: uuid.UUID
    project_id: uuid.UUID
    url: str
    events: list[NotificationEvent]
    enabled: bool
    consecutive_failures: int
    disabled_reason: str | None
    created_at: datetime


class WebhookCreated(WebhookPublic):
    secret: str  # shown once, never again: receivers verify signatures with it


class WebhooksPublic(SQLModel):
    data: list[WebhookPublic]
    count: int


class DeliveryPublic(SQLModel):
    id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    channel: Channel
    target: str
    job_id: uuid.UUID | None
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_latency_ms: int | None
    last_error: str | None
    response_excerpt: str | None
    created_at: datetime
    finished_at: datetime | None


class DeliveriesPublic(PagePublic):
    data: list[DeliveryPublic]


class SendTestPublic(SQLModel):
    """A test message's outcome: the receiver's status and the start of its answer."""

    ok: bool
    status: DeliveryStatus
    status_code: int | None = None
    latency_ms: int | None = None
    response_excerpt: str | None = None
    detail: str


class UserNotificationSettingsPublic(SQLModel):
    timezone: str
    digest_enabled: bool


class UserNotificationSettingsUpdate(SQLModel):
    timezone: str | None = Field(default=None, max_length=64)
    digest_enabled: bool | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in _zones():
            raise ValueError(f"unknown time zone {value!r} (an IANA name, e.g. Europe/Paris)")
        return value


class TokenOutcomePublic(SQLModel):
    detail: str


_ZONES: frozenset[str] | None = None


def _zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones())
    return _ZONES
