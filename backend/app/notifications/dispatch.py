"""From the job runtime's outbox to deliveries: claim unprocessed `job_events` (SKIP LOCKED),
derive the notification events of each (job.*, audit.*, rank.dropped, sync.failing), match
the project's rules, and write each event's content once (`notification_events`) and one
`notification_deliveries` row per (event, target), unique, in the same transaction that
marks the outbox rows processed. So a crash loses nothing (the outbox rows
stay unprocessed until that commit) and nothing is recorded twice (two consumers skip each
other's rows; the unique key absorbs a replay)."""

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from app.audits import service as audits_service
from app.core.db import utcnow
from app.core.logging import get_logger
from app.jobs import service as jobs_service
from app.jobs.models import JobEvent, JobEventKind, JobRun, declared_job_types
from app.notifications import links
from app.notifications.models import (
    Channel,
    NotificationEvent,
    NotificationMute,
    NotificationRecipient,
    NotificationRules,
    WebhookEndpoint,
)
from app.projects.models import Project
from app.serp import service as serp_service
from app.serp.domain import SERP_REFRESH_JOB
from app.users.models import User

logger = get_logger(__name__)

DISPATCH_BATCH = 200
AUDIT_JOB_TYPE = "audit"
EVENT_NAMESPACE = uuid.UUID("6f1f5d1e-8f0e-4c43-9a39-1d8c0e6c2a10")

_JOB_EVENT = {
    JobEventKind.completed: NotificationEvent.job_completed,
    JobEventKind.failed: NotificationEvent.job_failed,
    JobEventKind.cancelled: NotificationEvent.job_cancelled,
}
_JOB_EVENTS = frozenset(_JOB_EVENT.values())
# Job types whose completion is read further (the audit's outcome, the refresh's rank changes).
_READING_TYPES = frozenset({AUDIT_JOB_TYPE, SERP_REFRESH_JOB})


def notification_id(job_id: uuid.UUID, event: str) -> uuid.UUID:
    """The id of a notification event: the same however often it is derived."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{job_id}:{event}")


@dataclass
class _ProjectTargets:
    project: Project
    owner: User | None
    rules: NotificationRules
    webhooks: list[WebhookEndpoint]
    recipients: list[NotificationRecipient]
    owner_mute: NotificationMute | None

    def wants_job_type(self, event: NotificationEvent, job_type: str) -> bool:
        if event not in _JOB_EVENTS or self.rules.job_types is None:
            return True
        return job_type in self.rules.job_types


@dataclass
class DispatchReport:
    events: int = 0
    deliveries: int = 0
    types: dict[str, int] = field(default_factory=dict)


def dispatch_pending_events(*, session: Session, batch: int = DISPATCH_BATCH) -> DispatchReport:
    """One batch of the outbox, committed; returns what it made. The batch's jobs are read in
    one query and its deliveries inserted in one statement, so a burst of finishing jobs
    costs the database little."""
    report = DispatchReport()
    events = jobs_service.claim_job_events(session=session, batch=batch)
    ids = [event.job_id for event in events if event.project_id is not None]
    jobs = {job.id: job for job in session.exec(select(JobRun).where(col(JobRun.id).in_(ids)))}
    targets: dict[uuid.UUID, _ProjectTargets | None] = {}
    rows: list[dict[str, Any]] = []
    messages: dict[uuid.UUID, dict[str, Any]] = {}
    for event in events:
        report.events += 1
        job = jobs.get(event.job_id)
        if event.project_id is None or job is None:
            continue  # the platform's own jobs (maintenance) notify nobody
        if event.project_id not in targets:
            targets[event.project_id] = _load_targets(session, event.project_id)
        project_targets = targets[event.project_id]
        if project_targets is None:
            continue  # the project was deleted meanwhile
        try:
            rows += _event_rows(session, event, job, project_targets, report, messages)
        except DBAPIError as exc:
            if exc.connection_invalidated:
                raise  # the database itself: the whole batch is tried again later
            logger.exception("notification_dispatch_failed", job_id=str(event.job_id))
        except Exception:
            # One event's failure (a bug, a row gone odd) must not block the outbox behind it.
            logger.exception("notification_dispatch_failed", job_id=str(event.job_id))
    report.deliveries = _insert(session, list(messages.values()), rows)
    jobs_service.mark_job_events_processed(session=session, events=events)
    session.commit()
    return report


def _event_rows(
    session: Session,
    event: JobEvent,
    job: JobRun,
    targets: "_ProjectTargets",
    report: DispatchReport,
    messages: dict[uuid.UUID, dict[str, Any]],
) -> list[dict[str, Any]]:
    """The event's delivery rows; the content of each notification event that has any goes
    into `messages`, once."""
    # Events whose derivation reads other tables (audits, rank changes, past failures) do it
    # in a savepoint, so a failing read spoils only its own event.
    reads = event.event is JobEventKind.failed or (
        event.event is JobEventKind.completed and job.job_type in _READING_TYPES
    )
    if reads:
        with session.begin_nested():
            made = _notifications(session, event, job, targets)
    else:
        made = _notifications(session, event, job, targets)
    rows = []
    for kind, payload in made:
        kind_rows = _deliveries(kind, payload, event, targets)
        report.types[kind] = report.types.get(kind, 0) + len(kind_rows)
        if kind_rows:
            event_id = uuid.UUID(payload["id"])
            messages[event_id] = {
                "id": event_id,
                "event_type": kind,
                "project_id": targets.project.id,
                "job_id": event.job_id,
                "payload_json": payload,
                "created_at": utcnow(),
            }
        rows += kind_rows
    return rows


def _load_targets(session: Session, project_id: uuid.UUID) -> _ProjectTargets | None:
    project = session.get(Project, project_id)
    if project is None:
        return None
    return _ProjectTargets(
        project=project,
        owner=session.get(User, project.owner_id),
        rules=session.get(NotificationRules, project_id)
        or NotificationRules(project_id=project_id),
        webhooks=list(
            session.exec(
                select(WebhookEndpoint).where(
                    col(WebhookEndpoint.project_id) == project_id,
                    col(WebhookEndpoint.enabled).is_(True),
                )
            ).all()
        ),
        recipients=list(
            session.exec(
                select(NotificationRecipient).where(
                    col(NotificationRecipient.project_id) == project_id,
                    col(NotificationRecipient.confirmed_at).is_not(None),
                    col(NotificationRecipient.unsubscribed_at).is_(None),
                )
            ).all()
        ),
        owner_mute=session.get(NotificationMute, (project.owner_id, project_id)),
    )


def job_facts(job: JobRun) -> dict[str, Any]:
    spec = declared_job_types().get(job.job_type)
    duration = (
        None
        if job.started_at is None or job.finished_at is None
        else round((job.finished_at - job.started_at).total_seconds(), 3)
    )
    error = (
        None
        if job.status == "completed" or job.error_category is None
        else {"category": job.error_category, "message": job.error_message}
    )
    return {
        "id": str(job.id),
        "type": job.job_type,
        "label": spec.label if spec is not None else job.job_type,
        "status": str(job.status),
        "attempts": job.attempts,
        "queued_at": _iso(job.queued_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "duration_seconds": duration,
        "error": error,
        "result": job.result_json,
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def event_payload(
    *,
    event_id: uuid.UUID,
    kind: str,
    project: Project,
    job: JobRun | None,
    summary: str,
    dashboard_url: str,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The webhook body (and the facts its email says)."""
    return {
        "id": str(event_id),
        "type": kind,
        "created_at": utcnow().isoformat(),
        "project": {"id": str(project.id), "name": project.name, "site_url": project.site_url},
        "job": None if job is None else job_facts(job),
        "summary": summary,
        "data": data or {},
        "dashboard_url": dashboard_url,
    }


def _notifications(
    session: Session, event: JobEvent, job: JobRun, targets: _ProjectTargets
) -> list[tuple[str, dict[str, Any]]]:
    """The notification events one terminal transition makes, with their payloads."""
    project = targets.project
    kind = _JOB_EVENT[event.event]
    label = job_facts(job)["label"]
    job_link = links.dashboard(f"/jobs/{job.id}")
    summary = f"{label} {event.event.value} for {project.name}"
    if job.error_message and event.event is not JobEventKind.completed:
        summary += f": {job.error_message}"
    made = [
        (
            kind.value,
            event_payload(
                event_id=notification_id(job.id, kind.value),
                kind=kind.value,
                project=project,
                job=job,
                summary=summary,
                dashboard_url=job_link,
            ),
        )
    ]
    if event.event is JobEventKind.completed and job.job_type == AUDIT_JOB_TYPE:
        made += _audit_notifications(session, job, project)
    if event.event is JobEventKind.completed and job.job_type == SERP_REFRESH_JOB:
        made += _rank_notifications(session, job, targets)
    if event.event is JobEventKind.failed and _failing_two_days(session, event):
        made.append(
            (
                NotificationEvent.sync_failing.value,
                event_payload(
                    event_id=notification_id(job.id, NotificationEvent.sync_failing.value),
                    kind=NotificationEvent.sync_failing.value,
                    project=project,
                    job=job,
                    summary=f"{label} has failed two days in a row for {project.name}",
                    dashboard_url=job_link,
                ),
            )
        )
    return made


def _audit_notifications(
    session: Session, job: JobRun, project: Project
) -> list[tuple[str, dict[str, Any]]]:
    outcome = audits_service.audit_outcome(session=session, job_id=job.id)
    if outcome is None:
        return []
    data = {
        "audit_id": str(outcome.audit_id),
        "previous_audit_id": None
        if outcome.previous_audit_id is None
        else str(outcome.previous_audit_id),
        "score": outcome.score,
        "previous_score": outcome.previous_score,
        "new_issues": outcome.new_issues,
        "fixed_issues": outcome.fixed_issues,
        "new_errors": outcome.new_errors,
        "top_new_issues": [
            {"code": e.code, "title": e.title, "severity": str(e.severity), "count": e.count}
            for e in outcome.top_new
        ],
    }
    link = links.dashboard(f"/audits/{outcome.audit_id}")
    made = [
        (
            NotificationEvent.audit_finished.value,
            event_payload(
                event_id=notification_id(job.id, NotificationEvent.audit_finished.value),
                kind=NotificationEvent.audit_finished.value,
                project=project,
                job=job,
                summary=f"Audit of {project.name} finished: score {outcome.score}",
                dashboard_url=link,
                data=data,
            ),
        )
    ]
    if outcome.new_errors > 0:
        made.append(
            (
                NotificationEvent.audit_new_errors.value,
                event_payload(
                    event_id=notification_id(job.id, NotificationEvent.audit_new_errors.value),
                    kind=NotificationEvent.audit_new_errors.value,
                    project=project,
                    job=job,
                    summary=f"Audit of {project.name}: {outcome.new_errors} new error(s)",
                    dashboard_url=link,
                    data=data,
                ),
            )
        )
    return made


RANK_DROPS_LISTED = 100  # keywords a rank.dropped payload lists (biggest drops first)


def _rank_notifications(
    session: Session, job: JobRun, targets: _ProjectTargets
) -> list[tuple[str, dict[str, Any]]]:
    """rank.dropped: the keywords this refresh found more than the project's
    `rank_drop_positions` places lower than at their previous completed check (a drop of
    exactly N is not one; falling out of the checked depth counts as position depth + 1;
    failed checks never count: app.serp.models.places_lost)."""
    if not _wanted(NotificationEvent.rank_dropped.value, targets):
        return []  # nobody listens: the rank changes are not even read
    threshold = targets.rules.rank_drop_positions
    drops = serp_service.rank_drops(session=session, job_id=job.id, more_than=threshold)
    if not drops:
        return []
    project = targets.project
    kind = NotificationEvent.rank_dropped.value
    listed = [move.facts() for move in drops[:RANK_DROPS_LISTED]]
    return [
        (
            kind,
            event_payload(
                event_id=notification_id(job.id, kind),
                kind=kind,
                project=project,
                job=job,
                summary=f"{len(drops)} keyword(s) of {project.name} dropped more than "
                f"{threshold} places",
                dashboard_url=links.dashboard(f"/projects/{project.id}"),
                data={
                    "threshold": threshold,
                    "count": len(drops),
                    "keywords": listed,
                    "truncated": len(drops) > len(listed),
                },
            ),
        )
    ]


def _wanted(kind: str, targets: _ProjectTargets) -> bool:
    """Some target could receive `kind` (before mutes and job types)."""
    return kind in targets.rules.email_events or any(kind in h.events for h in targets.webhooks)


def _failing_two_days(session: Session, event: JobEvent) -> bool:
    """This failure is the first of its UTC day for (project, job type), and the day before
    had one too: sync.failing, once a day while it lasts."""
    assert event.project_id is not None
    today = event.occurred_at.date()
    day_start = datetime.combine(today, datetime.min.time(), tzinfo=event.occurred_at.tzinfo)
    failures = jobs_service.job_failure_days(
        session=session,
        project_id=event.project_id,
        job_type=event.job_type,
        since=day_start - timedelta(days=1),
    )
    yesterday = any(moment < day_start for moment in failures)
    earlier_today = any(day_start <= moment < event.occurred_at for moment in failures)
    return yesterday and not earlier_today


def _deliveries(
    kind: str, payload: dict[str, Any], event: JobEvent, targets: _ProjectTargets
) -> list[dict[str, Any]]:
    notification = NotificationEvent(kind)
    if not targets.wants_job_type(notification, event.job_type):
        return []
    base = {
        "event_id": uuid.UUID(payload["id"]),
        "event_type": kind,
        "project_id": targets.project.id,
        "job_id": event.job_id,
        "endpoint_id": None,
        "recipient": None,
    }
    rows = [
        {
            **base,
            "id": uuid.uuid4(),
            "channel": Channel.webhook.value,
            "endpoint_id": hook.id,
            "target": str(hook.id),
        }
        for hook in targets.webhooks
        if kind in hook.events
    ]
    if kind in targets.rules.email_events:
        emails: list[str] = []
        owner, mute = targets.owner, targets.owner_mute
        owner_muted = mute is not None and (mute.muted or kind in mute.events)
        if targets.rules.notify_owner and owner is not None and owner.is_active and not owner_muted:
            emails.append(owner.email)
        emails += [r.email for r in targets.recipients if r.email not in emails]
        rows += [
            {
                **base,
                "id": uuid.uuid4(),
                "channel": Channel.email.value,
                "recipient": email,
                "target": email,
            }
            for email in emails
        ]
    return rows


# A batch's events and deliveries, each in one statement of arrays: a statement of the same
# text whatever the batch's size (so the driver prepares it once, and nothing is compiled
# per row, which a multi-row VALUES costs).
_INSERT_MESSAGES = sa.text("""
    INSERT INTO notification_events (id, event_type, project_id, job_id, payload_json,
                                     created_at)
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:types AS varchar[]),
                         CAST(:projects AS uuid[]), CAST(:jobs AS uuid[]),
                         CAST(:payloads AS jsonb[]), CAST(:created AS timestamptz[]))
    ON CONFLICT (id) DO NOTHING
""")
_INSERT_DELIVERIES = sa.text("""
    INSERT INTO notification_deliveries (id, event_id, event_type, project_id, job_id,
        channel, endpoint_id, recipient, target, status, attempts, next_attempt_at, created_at)
    SELECT id, event_id, event_type, project_id, job_id, channel, endpoint_id, recipient,
           target, 'pending', 0, now(), now()
    FROM unnest(CAST(:ids AS uuid[]), CAST(:events AS uuid[]), CAST(:types AS varchar[]),
                CAST(:projects AS uuid[]), CAST(:jobs AS uuid[]), CAST(:channels AS varchar[]),
                CAST(:endpoints AS uuid[]), CAST(:recipients AS varchar[]),
                CAST(:targets AS varchar[]))
        AS v(id, event_id, event_type, project_id, job_id, channel, endpoint_id, recipient,
             target)
    ON CONFLICT (event_id, target) DO NOTHING
    RETURNING id
""")


def _insert(session: Session, messages: list[dict[str, Any]], rows: list[dict[str, Any]]) -> int:
    """The events' content (once each), then their deliveries; a replay adds neither."""
    if not rows:
        return 0
    session.execute(
        _INSERT_MESSAGES,
        {
            "ids": [m["id"] for m in messages],
            "types": [m["event_type"] for m in messages],
            "projects": [m["project_id"] for m in messages],
            "jobs": [m["job_id"] for m in messages],
            "payloads": [json.dumps(m["payload_json"]) for m in messages],
            "created": [m["created_at"] for m in messages],
        },
    )
    inserted = session.execute(
        _INSERT_DELIVERIES,
        {
            "ids": [r["id"] for r in rows],
            "events": [r["event_id"] for r in rows],
            "types": [r["event_type"] for r in rows],
            "projects": [r["project_id"] for r in rows],
            "jobs": [r["job_id"] for r in rows],
            "channels": [r["channel"] for r in rows],
            "endpoints": [r["endpoint_id"] for r in rows],
            "recipients": [r["recipient"] for r in rows],
            "targets": [r["target"] for r in rows],
        },
    ).all()
    return len(inserted)


def has_pending_events(*, session: Session) -> bool:
    return (
        session.exec(
            select(col(JobEvent.job_id)).where(col(JobEvent.processed_at).is_(None)).limit(1)
        ).first()
        is not None
    )
