"""Sending deliveries: claim the due ones (compare-and-set to `sending` under a lease, SKIP
LOCKED, so two senders never take the same one), send them concurrently (a slow receiver
holds one slot, never the others, and never a job), record each attempt as it ends, fenced by
the attempt number it claimed.

Retries: exponential backoff with full jitter (uniform(0, min(cap, base * 2**(n-1)))), or the
receiver's Retry-After when it gives one, up to WEBHOOK_MAX_ATTEMPTS. A sender that dies
mid-send leaves its deliveries `sending` until the lease expires; they are then claimed again
(at least once towards the receiver, who dedupes on the event id). An endpoint failing
WEBHOOK_DISABLE_AFTER_FAILURES attempts in a row is disabled and its project's owner emailed.
"""

import asyncio
import json
import random
import smtplib
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core import secrets
from app.core.config import settings
from app.core.db import session_scope, utcnow
from app.core.logging import get_logger
from app.notifications import links, mailer, messages, signing, webhook_client
from app.notifications.mailer import Email
from app.notifications.models import (
    Channel,
    DeliveryAttempt,
    DeliveryStatus,
    NotificationDelivery,
    NotificationMessage,
    NotificationRecipient,
    WebhookEndpoint,
)
from app.projects.models import Project
from app.users.models import User

logger = get_logger(__name__)

# How long one sending task keeps claiming before it hands over to a fresh one.
DRAIN_BUDGET_SECONDS = 60.0
# How long an answer may wait to be recorded with the next ones (one commit per burst).
RECORD_EVERY_SECONDS = 0.2


def lease_seconds() -> float:
    """How long a claimed delivery is left to its sender: longer than one send can take."""
    return settings.WEBHOOK_TIMEOUT_SECONDS * 2 + settings.SMTP_TIMEOUT * 2 + 5


_CLAIM = sa.text("""
    UPDATE notification_deliveries SET status = 'sending', attempts = attempts + 1,
        lease_expires_at = now() + make_interval(secs => :lease)
    WHERE id IN (
        SELECT id FROM notification_deliveries
        WHERE status IN ('pending', 'sending') AND next_attempt_at <= now()
          AND (status = 'pending' OR lease_expires_at < now())
        ORDER BY next_attempt_at
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    )
    RETURNING id, attempts, channel, event_id, event_type, project_id, endpoint_id, recipient,
        target
""")


# The senders' bookkeeping commits without waiting for the WAL flush (see record_many).
_ASYNC_COMMIT = sa.text("SET LOCAL synchronous_commit = off")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One claimed attempt, with everything needed to send it without the database."""

    delivery_id: uuid.UUID
    attempt: int
    channel: Channel
    event_id: uuid.UUID
    event_type: str
    url: str | None = None
    secret: str | None = None
    body: bytes = b""
    email: Email | None = None
    skip_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Result:
    status_code: int | None = None
    latency_ms: int | None = None
    excerpt: str | None = None
    retry_after: float | None = None
    error: str | None = None
    delivered: bool = False
    skipped: bool = False
    permanent: bool = False


def webhook_body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery as its sender claimed it (the columns sending needs)."""

    id: uuid.UUID
    attempts: int
    channel: str
    event_id: uuid.UUID
    event_type: str
    project_id: uuid.UUID | None
    endpoint_id: uuid.UUID | None
    recipient: str | None
    target: str

    @classmethod
    def of(cls, delivery: NotificationDelivery) -> "Claimed":
        return cls(
            id=delivery.id,
            attempts=delivery.attempts,
            channel=delivery.channel,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            project_id=delivery.project_id,
            endpoint_id=delivery.endpoint_id,
            recipient=delivery.recipient,
            target=delivery.target,
        )


@dataclass
class _Cache:
    """What one claim reads once for all its deliveries: secrets, payloads, webhook bodies."""

    secrets: dict[uuid.UUID, str]
    payloads: dict[uuid.UUID, dict[str, Any]]
    bodies: dict[uuid.UUID, bytes]
    # The claim's endpoints, read in one query (None: read each with session.get).
    endpoints: dict[uuid.UUID, WebhookEndpoint] | None = None


def _payloads(session: Session, event_ids: set[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    return {
        row.id: row.payload_json
        for row in session.execute(
            select(NotificationMessage.id, NotificationMessage.payload_json).where(
                col(NotificationMessage.id).in_(event_ids)
            )
        ).all()
    }


def claim_due(*, limit: int) -> list[Outgoing]:
    """Claims up to `limit` due deliveries in one statement (which answers their columns),
    then reads their events' content once each."""
    with session_scope() as session:
        # A claim lost to a crash of PostgreSQL itself leaves the row pending: claimed again.
        session.execute(_ASYNC_COMMIT)
        claimed = [
            Claimed(**row._mapping)
            for row in session.execute(_CLAIM, {"lease": lease_seconds(), "limit": limit})
        ]
        session.commit()
        if not claimed:
            return []
        cache = _Cache(
            secrets={}, payloads=_payloads(session, {c.event_id for c in claimed}), bodies={}
        )
        endpoint_ids = {c.endpoint_id for c in claimed if c.endpoint_id is not None}
        if endpoint_ids:
            cache.endpoints = {
                endpoint.id: endpoint
                for endpoint in session.exec(
                    select(WebhookEndpoint).where(col(WebhookEndpoint.id).in_(endpoint_ids))
                ).all()
            }
        return [prepare(session, delivery, cache) for delivery in claimed]


def prepare(session: Session, delivery: Claimed, cache: _Cache | None = None) -> Outgoing:
    cache = cache or _Cache(secrets={}, payloads=_payloads(session, {delivery.event_id}), bodies={})
    common: dict[str, Any] = {
        "delivery_id": delivery.id,
        "attempt": delivery.attempts,
        "channel": delivery.channel,
        "event_id": delivery.event_id,
        "event_type": delivery.event_type,
    }
    if delivery.channel == Channel.webhook:
        if delivery.endpoint_id is None:
            endpoint = None
        elif cache.endpoints is not None:
            endpoint = cache.endpoints.get(delivery.endpoint_id)
        else:
            endpoint = session.get(WebhookEndpoint, delivery.endpoint_id)
        if endpoint is None:
            return Outgoing(**common, skip_reason="the endpoint was deleted")
        if not endpoint.enabled and delivery.event_type != "webhook.test":
            return Outgoing(**common, skip_reason="the endpoint is disabled")
        if endpoint.id not in cache.secrets:
            cache.secrets[endpoint.id] = str(secrets.decrypt_json(endpoint.secret)["secret"])
        body = cache.bodies.get(delivery.event_id)
        if body is None:
            body = cache.bodies[delivery.event_id] = webhook_body(
                cache.payloads.get(delivery.event_id, {})
            )
        return Outgoing(**common, url=endpoint.url, secret=cache.secrets[endpoint.id], body=body)
    if not mailer.configured():
        return Outgoing(**common, skip_reason="email is not configured (no SMTP_HOST)")
    return Outgoing(**common, email=_email(session, delivery, cache.payloads[delivery.event_id]))


def _email(session: Session, delivery: Claimed, payload: dict[str, Any]) -> Email:
    to = delivery.recipient or delivery.target
    prepared = payload.get("email")
    if prepared is not None:  # composed when recorded (digest, confirmation, notices)
        return Email(
            to=to,
            subject=prepared["subject"],
            text=prepared["text"],
            html=prepared["html"],
            unsubscribe_url=prepared.get("unsubscribe_url"),
        )
    return messages.event_email(
        payload, to=to, unsubscribe_url=_unsubscribe_url(session, delivery, to)
    )


def _unsubscribe_url(session: Session, delivery: Claimed, to: str) -> str | None:
    if delivery.project_id is None:
        return None
    recipient = session.exec(
        select(NotificationRecipient).where(
            col(NotificationRecipient.project_id) == delivery.project_id,
            col(NotificationRecipient.email) == to,
        )
    ).first()
    if recipient is not None:
        return links.unsubscribe_recipient(recipient.id)
    project = session.get(Project, delivery.project_id)
    if project is None:
        return None
    return links.unsubscribe_project(project.owner_id, project.id)


# --- Sending -------------------------------------------------------------------------------


async def send_one(pools: webhook_client.Pools, outgoing: Outgoing) -> Result:
    """Never raises: whatever goes wrong is the attempt's result."""
    try:
        return await _send(pools, outgoing)
    except Exception as exc:  # a bug must not leave the delivery `sending` for a lease
        logger.exception("notification_send_crashed", delivery_id=str(outgoing.delivery_id))
        return Result(error=f"internal error: {type(exc).__name__}")


async def _send(pools: webhook_client.Pools, outgoing: Outgoing) -> Result:
    if outgoing.skip_reason is not None:
        return Result(skipped=True, error=outgoing.skip_reason)
    if outgoing.channel == Channel.webhook:
        assert outgoing.url is not None
        assert outgoing.secret is not None
        headers = {
            signing.SIGNATURE_HEADER: signing.sign_webhook(outgoing.secret, outgoing.body),
            signing.EVENT_HEADER: outgoing.event_type,
            signing.DELIVERY_HEADER: f"{outgoing.event_id}:{outgoing.attempt}",
        }
        answer = await webhook_client.post_webhook(
            pools.for_url(outgoing.url), outgoing.url, outgoing.body, headers
        )
        return Result(
            status_code=answer.status_code,
            latency_ms=answer.latency_ms,
            excerpt=answer.excerpt,
            retry_after=answer.retry_after,
            error=answer.error,
            delivered=answer.ok,
            permanent=answer.error is not None and answer.error.startswith("refused"),
        )
    assert outgoing.email is not None
    started = time.monotonic()
    try:
        await asyncio.to_thread(mailer.send, outgoing.email)
    except smtplib.SMTPResponseException as exc:
        return Result(
            latency_ms=int((time.monotonic() - started) * 1000),
            status_code=exc.smtp_code,
            error=f"SMTP {exc.smtp_code}: {exc.smtp_error[:200]!r}",
            permanent=500 <= exc.smtp_code < 600,
        )
    except (smtplib.SMTPException, OSError) as exc:
        return Result(
            latency_ms=int((time.monotonic() - started) * 1000),
            error=f"SMTP: {str(exc)[:200] or type(exc).__name__}",
        )
    return Result(latency_ms=int((time.monotonic() - started) * 1000), delivered=True)


def retry_delay(attempt: int, retry_after: float | None) -> float:
    cap = settings.WEBHOOK_RETRY_CAP_SECONDS
    if retry_after is not None:
        return min(cap, retry_after)
    return random.uniform(0, min(cap, settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1)))  # noqa: S311


# One statement for a burst of ended attempts, each fenced by the attempt it claimed.
_FINISH = sa.text("""
    UPDATE notification_deliveries AS d SET status = v.status, lease_expires_at = NULL,
        next_attempt_at = now() + make_interval(secs => v.delay),
        finished_at = CASE WHEN v.status IN ('delivered', 'failed', 'skipped') THEN now() END,
        last_status_code = v.code, last_latency_ms = v.latency, last_error = v.error,
        response_excerpt = v.excerpt
    FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]),
                CAST(:statuses AS varchar[]), CAST(:delays AS double precision[]),
                CAST(:codes AS integer[]), CAST(:latencies AS integer[]),
                CAST(:errors AS varchar[]), CAST(:excerpts AS varchar[]))
        AS v(id, attempt, status, delay, code, latency, error, excerpt)
    WHERE d.id = v.id AND d.status = 'sending' AND d.attempts = v.attempt
    RETURNING d.id, d.endpoint_id
""")


def record(outgoing: Outgoing, result: Result) -> float | None:
    """Records one attempt's end; returns the delay of the retry it scheduled, if any."""
    return record_many([(outgoing, result)])[0]


def record_many(ended: list[tuple[Outgoing, Result]]) -> list[float | None]:
    """Records attempts' ends in one transaction and a few statements (one UPDATE for the
    burst, one INSERT of its attempts, the endpoints' counters); returns each one's retry
    delay, if it scheduled one. The commit does not wait for the WAL flush: if PostgreSQL
    itself crashes, the last moment's records may be lost and those deliveries sent again,
    which receivers absorb (they dedupe on the event id)."""
    finishes = [_finish(outgoing, result) for outgoing, result in ended]
    with session_scope() as session:
        session.execute(_ASYNC_COMMIT)
        recorded = {
            row.id: row.endpoint_id
            for row in session.execute(
                _FINISH,
                {
                    "ids": [outgoing.delivery_id for outgoing, _ in ended],
                    "attempts": [outgoing.attempt for outgoing, _ in ended],
                    "statuses": [finish.status.value for finish in finishes],
                    "delays": [finish.delay or 0.0 for finish in finishes],
                    "codes": [result.status_code for _, result in ended],
                    "latencies": [result.latency_ms for _, result in ended],
                    "errors": [finish.error for finish in finishes],
                    "excerpts": [finish.excerpt for finish in finishes],
                },
            )
        }
        attempts = [
            {
                "delivery_id": outgoing.delivery_id,
                "attempt": outgoing.attempt,
                "at": finish.at,
                "status_code": result.status_code,
                "latency_ms": result.latency_ms,
                "error": finish.error,
                "response_excerpt": finish.excerpt,
            }
            for (outgoing, result), finish in zip(ended, finishes, strict=True)
            if outgoing.delivery_id in recorded and not result.skipped
        ]
        if attempts:
            session.execute(sa.insert(DeliveryAttempt), attempts)
        # Endpoint rows last and in one order: senders recording at once never deadlock.
        outcomes: dict[uuid.UUID, list[bool]] = {}  # endpoint -> its attempts' success
        for outgoing, result in ended:
            endpoint_id = recorded.get(outgoing.delivery_id)
            if (
                endpoint_id is not None
                and outgoing.channel == Channel.webhook
                and not result.skipped
            ):
                outcomes.setdefault(endpoint_id, []).append(result.delivered)
        for endpoint_id in sorted(outcomes):
            _count_endpoint(session, endpoint_id, outcomes[endpoint_id])
        session.commit()
    # A record the fence refused (the lease expired, someone else holds it) schedules nothing.
    return [
        finish.delay if outgoing.delivery_id in recorded else None
        for (outgoing, _), finish in zip(ended, finishes, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class _Finish:
    status: DeliveryStatus
    delay: float | None
    error: str | None
    excerpt: str | None
    at: datetime


def _finish(outgoing: Outgoing, result: Result) -> _Finish:
    """What an attempt's end makes of its delivery."""
    delay: float | None = None
    if result.delivered:
        status = DeliveryStatus.delivered
    elif result.skipped:
        status = DeliveryStatus.skipped
    elif result.permanent or outgoing.attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
        status = DeliveryStatus.failed
    else:
        status = DeliveryStatus.pending
        delay = retry_delay(outgoing.attempt, result.retry_after)
    return _Finish(
        status=status,
        delay=delay,
        error=None if result.error is None else result.error[:500],
        excerpt=None if result.excerpt is None else result.excerpt[:2000],
        at=utcnow(),
    )


# After a success the count is the failures that followed it; without one it grows. An
# unchanged count is not written (the common case: 0 stays 0).
_ENDPOINT_SET = sa.text("""
    UPDATE webhook_endpoints SET consecutive_failures = :failures
    WHERE id = :id AND consecutive_failures <> :failures
    RETURNING consecutive_failures, enabled
""")
_ENDPOINT_FAILED = sa.text("""
    UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + :failures
    WHERE id = :id RETURNING consecutive_failures, enabled
""")
_DISABLE = sa.text("""
    UPDATE webhook_endpoints SET enabled = false, disabled_reason = :reason
    WHERE id = :id AND enabled RETURNING id
""")


def _count_endpoint(session: Session, endpoint_id: uuid.UUID, successes: list[bool]) -> None:
    """Moves the endpoint's count of failed attempts in a row by a burst of its attempts,
    and disables it at WEBHOOK_DISABLE_AFTER_FAILURES (emailing the project's owner)."""
    if True in successes:
        trailing_failures = successes[::-1].index(True)
        row = session.execute(
            _ENDPOINT_SET, {"id": endpoint_id, "failures": trailing_failures}
        ).first()
    else:
        row = session.execute(
            _ENDPOINT_FAILED, {"id": endpoint_id, "failures": len(successes)}
        ).first()
    if row is None or not row.enabled:
        return
    if row.consecutive_failures < settings.WEBHOOK_DISABLE_AFTER_FAILURES:
        return
    reason = f"disabled after {row.consecutive_failures} failed attempts in a row"
    if session.execute(_DISABLE, {"id": endpoint_id, "reason": reason}).first() is None:
        return
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    project = None if endpoint is None else session.get(Project, endpoint.project_id)
    owner = None if project is None else session.get(User, project.owner_id)
    logger.warning(
        "webhook_disabled", endpoint_id=str(endpoint_id), failures=row.consecutive_failures
    )
    if endpoint is None or project is None or owner is None:
        return
    email = messages.compose(
        to=owner.email,
        title=f"Webhook disabled for {project.name}",
        paragraphs=[
            f"The webhook {endpoint.url} was {reason}.",
            "Fix the receiver, then enable the webhook again in the project's notification "
            "settings; events until then were not sent to it.",
        ],
        link=("Notification settings", links.dashboard(f"/projects/{project.id}")),
    )
    queue_email(session, project=project, event_type="webhook.disabled", email=email)


def queue_email(
    session: Session,
    *,
    project: Project | None,
    event_type: str,
    email: Email,
    event_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> NotificationDelivery:
    """Records a composed email (its event, and its delivery) in the caller's transaction
    (sent after it commits by the next sending pass)."""
    message = NotificationMessage(
        id=event_id or uuid.uuid4(),
        event_type=event_type,
        project_id=None if project is None else project.id,
        payload_json={
            "type": event_type,
            "user_id": None if user_id is None else str(user_id),
            "email": {
                "subject": email.subject,
                "text": email.text,
                "html": email.html,
                "unsubscribe_url": email.unsubscribe_url,
            },
        },
    )
    session.add(message)
    session.flush()  # the delivery's event first
    delivery = NotificationDelivery(
        event_id=message.id,
        event_type=event_type,
        project_id=message.project_id,
        channel=Channel.email,
        recipient=email.to,
        target=email.to,
    )
    session.add(delivery)
    return delivery


# --- The drain -----------------------------------------------------------------------------


@dataclass
class DrainReport:
    sent: int = 0
    retries: int = 0
    next_due_in: float | None = None
    out_of_time: bool = False


async def _drain(budget: float, concurrency: int) -> DrainReport:
    report = DrainReport()
    deadline = time.monotonic() + budget
    running: set[asyncio.Task[None]] = set()
    ended: list[tuple[Outgoing, Result]] = []

    async def deliver(pools: webhook_client.Pools, outgoing: Outgoing) -> None:
        ended.append((outgoing, await send_one(pools, outgoing)))

    async def record_ended() -> None:
        """Records what ended since the last call, in one transaction."""
        if not ended:
            return
        batch = ended[:]
        ended.clear()
        for delay in await asyncio.to_thread(record_many, batch):
            report.sent += 1
            if delay is not None:
                report.retries += 1
                if report.next_due_in is None or delay < report.next_due_in:
                    report.next_due_in = delay

    async with webhook_client.Pools(concurrency) as pools:
        while True:
            if time.monotonic() >= deadline:
                report.out_of_time = True
                break
            free = concurrency - len(running)
            claimed = await asyncio.to_thread(claim_due, limit=free) if free > 0 else []
            for outgoing in claimed:
                task = asyncio.create_task(deliver(pools, outgoing))
                running.add(task)
                task.add_done_callback(running.discard)
            if not running:
                break
            # Answers are recorded within RECORD_EVERY_SECONDS of arriving, in bursts, and
            # claims are made at most as often: with nothing due, the next claim waits that
            # long (or until every send ended); with every slot taken, until a quarter of
            # them are free again (or that long). A stream of quick answers never makes a
            # transaction each.
            if not claimed:
                await asyncio.wait(running, timeout=RECORD_EVERY_SECONDS)
            elif free - len(claimed) <= 0:
                await _wait_for_slots(running, concurrency - max(1, concurrency // 4))
            await record_ended()
        if running:
            await asyncio.gather(*running)
        await record_ended()
    return report


async def _wait_for_slots(running: set[asyncio.Task[None]], busy: int) -> None:
    """Returns once at most `busy` sends are running, or after RECORD_EVERY_SECONDS."""
    deadline = time.monotonic() + RECORD_EVERY_SECONDS
    while len(running) > busy:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        await asyncio.wait(running, timeout=left, return_when=asyncio.FIRST_COMPLETED)


def drain(*, budget: float = DRAIN_BUDGET_SECONDS, concurrency: int | None = None) -> DrainReport:
    """Sends what is due, concurrently, until nothing is or the budget is spent."""
    return asyncio.run(_drain(budget, concurrency or settings.NOTIFICATION_SEND_CONCURRENCY))


def send_now(delivery_id: uuid.UUID) -> tuple[NotificationDelivery, Result]:
    """Sends one delivery at once, in the caller's thread (the "send a test" buttons)."""
    with session_scope() as session:
        claimed = session.execute(
            sa.text(
                "UPDATE notification_deliveries SET status = 'sending', attempts = attempts + 1, "
                "lease_expires_at = now() + make_interval(secs => :lease) "
                "WHERE id = :id AND status = 'pending' RETURNING id"
            ),
            {"id": delivery_id, "lease": lease_seconds()},
        ).first()
        session.commit()
        delivery = session.get(NotificationDelivery, delivery_id)
        assert claimed is not None
        assert delivery is not None
        outgoing = prepare(session, Claimed.of(delivery))

    async def run() -> Result:
        async with webhook_client.Pools(1) as pools:
            return await send_one(pools, outgoing)

    result = asyncio.run(run())
    if not (result.delivered or result.skipped):
        result = replace(result, permanent=True)  # a test is shown, not retried
    record(outgoing, result)
    with session_scope() as session:
        current = session.get(NotificationDelivery, delivery_id)
        assert current is not None
        return current, result


def next_due_in() -> float | None:
    """Seconds until the next delivery is due (0 if overdue; one being sent is due when its
    lease expires), None if none waits."""
    with session_scope() as session:
        row = session.execute(
            sa.text(
                "SELECT extract(epoch FROM min(CASE WHEN status = 'pending' THEN next_attempt_at "
                "ELSE lease_expires_at END) - now()) "
                "FROM notification_deliveries WHERE status IN ('pending', 'sending')"
            )
        ).scalar()
    return None if row is None else max(0.0, float(row))
