"""The daily digest for a seeded day: sent at 07:00 in the user's time zone, once, with the
last 24 hours of the user's projects (jobs by outcome, audit score changes, rank movers,
failures), only when there is something to say, and an unsubscribe link honoured without
logging in."""

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audits.models import AuditRun, AuditStatus
from app.jobs.models import JobRun
from app.notifications import digest
from app.notifications.models import NotificationDelivery, UserNotificationSettings
from app.projects.models import Project
from app.serp.models import SerpKeyword, SerpRankChange
from app.users.models import User
from tests.builders import create_project, create_user
from tests.notifications.conftest import settle
from tests.notifications.smtp import Inbox, parts

# 06:30 UTC is 07:30 in Paris (UTC+1 in December), 15:30 in Tokyo.
NOW = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)


def _job(
    session: Session, project: Project, status: str, hours_ago: float, **fields: object
) -> None:
    finished = NOW - timedelta(hours=hours_ago)
    session.add(
        JobRun(
            job_type=str(fields.pop("job_type", "maintenance")),
            project_id=project.id,
            status=status,
            stage="test",
            attempts=1,
            queued_at=finished - timedelta(minutes=5),
            started_at=finished - timedelta(minutes=4),
            finished_at=finished,
            **fields,
        )
    )


def _move(
    session: Session,
    project: Project,
    text: str,
    moves: list[tuple[int | None, int | None, float]],
) -> None:
    """A tracked keyword and its rank changes: (previous, new position or None for not in
    the top 30, hours ago), one refresh job each (the rows rank.dropped is made of too)."""
    keyword = SerpKeyword(
        project_id=project.id, text=text, country="US", language="en", device="desktop"
    )
    session.add(keyword)
    session.flush()
    for before, after, hours_ago in moves:
        session.add(
            SerpRankChange(
                job_id=uuid.uuid4(),
                keyword_id=keyword.id,
                project_id=project.id,
                checked_at=NOW - timedelta(hours=hours_ago),
                previous_status="ranked" if before else "not_in_top_n",
                previous_position=before,
                previous_depth=30,
                previous_checked_on=(NOW - timedelta(days=2)).date(),
                status="ranked" if after else "not_in_top_n",
                position=after,
                url=f"https://blog.example.com/{text}" if after else None,
                depth=30,
            )
        )


def _seed(session: Session, owner: User) -> None:
    shop = create_project(session, owner=owner, name="Shop", site_url="https://shop.example.com")
    blog = create_project(session, owner=owner, name="Blog", site_url="https://blog.example.com")
    create_project(session, owner=owner, name="Quiet", site_url="https://quiet.example.com")
    _job(session, shop, "completed", 2)
    _job(session, shop, "completed", 5)
    _job(session, shop, "failed", 3, error_category="unauthorized", error_message="401 from GSC")
    _job(session, shop, "completed", 30)  # the day before: not in this digest
    _job(session, blog, "cancelled", 1)
    _move(session, blog, "seo tips", [(4, 15, 6)])  # 11 places lower
    _move(session, blog, "seo tools", [(None, 8, 5)])  # into the top 30 at 8: 23 places up
    _move(session, blog, "seo news", [(3, 6, 8), (6, 3, 2)])  # and back: not a mover
    _move(session, blog, "seo blog", [(5, 9, 30)])  # the day before
    session.add(
        AuditRun(
            project_id=shop.id,
            status=AuditStatus.completed,
            score=80,
            started_at=NOW - timedelta(days=7),
            finished_at=NOW - timedelta(days=7),
        )
    )
    session.add(
        AuditRun(
            project_id=shop.id,
            status=AuditStatus.completed,
            score=72,
            started_at=NOW - timedelta(hours=4),
            finished_at=NOW - timedelta(hours=3),
        )
    )
    session.commit()


def test_the_digest_of_a_seeded_day(
    client: TestClient, session: Session, owner: User, inbox: Inbox
) -> None:
    session.add(UserNotificationSettings(user_id=owner.id, timezone="Europe/Paris"))
    _seed(session, owner)
    # Someone in Tokyo with news of their own: not their 07:00.
    other = create_user(session)
    session.add(UserNotificationSettings(user_id=other.id, timezone="Asia/Tokyo"))
    _job(session, create_project(session, owner=other), "completed", 1)
    # Someone at 07:00 with nothing to say: no email.
    create_project(session, owner=create_user(session))
    session.commit()

    assert digest.queue_due_digests(session=session, now=NOW) == 1
    # Beat firing again within the hour (or a second Beat) queues nothing more.
    assert digest.queue_due_digests(session=session, now=NOW + timedelta(minutes=20)) == 0
    settle()
    (message,) = inbox.wait_for(1)
    assert message["To"] == owner.email
    assert message["Subject"] == "Your SEO Platform digest for 07 December 2026"
    text, html = parts(message)
    assert (
        "- Blog: jobs 1 cancelled; rank movers: seo tools not in the top 30 -> #8 (+23), "
        "seo tips #4 -> #15 (-11)\n"
    ) in text.replace("\r\n", "\n")
    assert (
        "- Shop: jobs 2 completed, 1 failed; audit score 72 (-8 from 80); "
        "Maintenance failed 1x (401 from GSC)"
    ) in text
    assert "Quiet" not in text
    assert "<li>Blog: jobs 1 cancelled; rank movers: seo tools not in the top 30 -&gt; #8" in html

    unsubscribe = message["List-Unsubscribe"].strip("<>")
    link = urlsplit(unsubscribe)
    response = client.get(f"{link.path}?{link.query}")
    assert response.json() == {"detail": "You will no longer receive the daily digest."}
    session.expire_all()
    assert digest.queue_due_digests(session=session, now=NOW + timedelta(days=1)) == 0
    assert len(session.exec(select(NotificationDelivery)).all()) == 1
