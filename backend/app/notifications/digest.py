"""The daily digest: at 07:00 in each user's time zone (Beat runs hourly), the last 24 hours
of the user's projects: jobs by outcome, audits and their score changes, rank movers (the
keywords that moved most, from the same rank changes rank.dropped is made of), sync
failures (job types that failed). Sent only when there is something to say; once a day per user (the
local date is recorded with the queued email, and the email's id is derived from it)."""

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.audits.models import AuditRun, AuditStatus
from app.core.db import utcnow
from app.jobs.models import TERMINAL_STATUSES, JobRun, declared_job_types
from app.notifications import links, messages, sending
from app.notifications.dispatch import EVENT_NAMESPACE
from app.notifications.mailer import Email
from app.notifications.models import UserNotificationSettings
from app.projects.models import Project
from app.serp import service as serp_service
from app.serp.models import RankMove
from app.users.models import User

DIGEST_HOUR = 7
DIGEST_EVENT = "digest"
DIGEST_MOVERS = 5  # keywords listed per project, biggest moves first


@dataclass
class ProjectDay:
    project: Project
    outcomes: Counter[str] = field(default_factory=Counter)
    failures: dict[str, tuple[int, str | None]] = field(default_factory=dict)
    audits: list[tuple[int | None, int | None]] = field(default_factory=list)
    movers: list[RankMove] = field(default_factory=list)

    def has_news(self) -> bool:
        return bool(self.outcomes or self.audits or self.movers)


def digest_content(*, session: Session, user: User, end: datetime) -> list[ProjectDay]:
    """What happened in the 24 hours before `end` in the user's projects."""
    start = end - timedelta(hours=24)
    projects = session.exec(
        select(Project).where(col(Project.owner_id) == user.id).order_by(col(Project.name))
    ).all()
    days = {project.id: ProjectDay(project=project) for project in projects}
    if not days:
        return []
    jobs = session.exec(
        select(JobRun)
        .where(
            col(JobRun.project_id).in_(list(days)),
            col(JobRun.status).in_([s.value for s in TERMINAL_STATUSES]),
            col(JobRun.finished_at) >= start,
            col(JobRun.finished_at) < end,
        )
        .order_by(col(JobRun.finished_at))
    ).all()
    for job in jobs:
        assert job.project_id is not None
        day = days[job.project_id]
        day.outcomes[str(job.status)] += 1
        if job.status == "failed":
            count, _ = day.failures.get(job.job_type, (0, None))
            day.failures[job.job_type] = (count + 1, job.error_message)
    audits = session.exec(
        select(AuditRun)
        .where(
            col(AuditRun.project_id).in_(list(days)),
            col(AuditRun.status) == AuditStatus.completed,
            col(AuditRun.finished_at) >= start,
            col(AuditRun.finished_at) < end,
        )
        .order_by(col(AuditRun.finished_at))
    ).all()
    for audit in audits:
        previous = session.exec(
            select(AuditRun.score)
            .where(
                col(AuditRun.project_id) == audit.project_id,
                col(AuditRun.status) == AuditStatus.completed,
                col(AuditRun.started_at) < audit.started_at,
            )
            .order_by(col(AuditRun.started_at).desc())
            .limit(1)
        ).first()
        days[audit.project_id].audits.append((audit.score, previous))
    movers = serp_service.rank_movers(session=session, project_ids=list(days), start=start, end=end)
    for project_id, moves in movers.items():
        days[project_id].movers = moves[:DIGEST_MOVERS]
    return [day for day in days.values() if day.has_news()]


def compose_digest(*, user: User, local_day: date, days: list[ProjectDay]) -> Email:
    labels = declared_job_types()
    items: list[str] = []
    paragraphs = [
        f"What happened in your projects in the 24 hours before {local_day:%A %d %B}, 07:00."
    ]
    for day in days:
        outcomes = ", ".join(f"{count} {status}" for status, count in sorted(day.outcomes.items()))
        line = f"{day.project.name}: jobs {outcomes or 'none'}"
        for score, previous in day.audits:
            change = (
                ""
                if previous is None or score is None
                else f" ({score - previous:+d} from {previous})"
            )
            line += f"; audit score {score}{change}"
        if day.movers:
            line += "; rank movers: " + ", ".join(_mover(move) for move in day.movers)
        for job_type, (count, message) in sorted(day.failures.items()):
            spec = labels.get(job_type)
            label = spec.label if spec is not None else job_type
            line += f"; {label} failed {count}x ({message})"
        items.append(line)
    return messages.compose(
        to=user.email,
        title=f"Your SEO Platform digest for {local_day:%d %B %Y}",
        paragraphs=paragraphs,
        items=items,
        link=("Open the dashboard", links.dashboard("/projects")),
        unsubscribe_url=links.unsubscribe_digest(user.id),
    )


def _mover(move: RankMove) -> str:
    """ "shoes #3 -> #12 (-9)"; a keyword that left or entered the checked depth says so."""
    before = (
        f"#{move.previous_position}"
        if move.previous_position is not None
        else f"not in the top {move.previous_depth}"
    )
    after = f"#{move.position}" if move.position is not None else f"not in the top {move.depth}"
    lost = move.places_lost or 0
    return f"{move.text} {before} -> {after} ({-lost:+d})"


def _settings(session: Session, user_id: uuid.UUID) -> UserNotificationSettings:
    return session.get(UserNotificationSettings, user_id) or UserNotificationSettings(
        user_id=user_id
    )


def queue_due_digests(*, session: Session, now: datetime | None = None, force: bool = False) -> int:
    """Queues the digest of every project owner whose local hour is DIGEST_HOUR (any hour
    with `force`), once per local day; returns how many were queued."""
    now = now or utcnow()
    owners = session.exec(
        select(User).where(
            col(User.is_active).is_(True),
            col(User.id).in_(select(Project.owner_id).distinct()),
        )
    ).all()
    queued = 0
    for user in owners:
        prefs = _settings(session, user.id)
        local = now.astimezone(ZoneInfo(prefs.timezone))
        if not prefs.digest_enabled or prefs.digest_sent_on == local.date():
            continue
        if local.hour != DIGEST_HOUR and not force:
            continue
        days = digest_content(session=session, user=user, end=now)
        prefs.digest_sent_on = local.date()  # nothing to say is an answer for the day too
        session.add(prefs)
        if days:
            email = compose_digest(user=user, local_day=local.date(), days=days)
            sending.queue_email(
                session,
                project=None,
                event_type=DIGEST_EVENT,
                email=email,
                event_id=uuid.uuid5(EVENT_NAMESPACE, f"digest:{user.id}:{local.date()}"),
                user_id=user.id,
            )
        try:
            session.commit()
        except IntegrityError:  # another Beat queued this digest first
            session.rollback()
            continue
        queued += bool(days)
    return queued
