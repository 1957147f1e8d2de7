"""Email against a real local SMTP server (aiosmtpd): the audit-finished and job-failed
messages (plain text and HTML parts, links, List-Unsubscribe), recipients confirmed by a
signed link first, unsubscribe without logging in, the test button, and no SMTP configured:
emails skipped and visible, nothing failing."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audits.models import AuditIssue, AuditRun, AuditStatus, Severity
from app.core.config import settings
from app.core.db import utcnow
from app.notifications.models import DeliveryStatus, NotificationDelivery
from app.projects.models import Project
from app.users.models import User
from tests.builders import auth_headers
from tests.notifications.conftest import finish_job, running_job, settle
from tests.notifications.smtp import Inbox, parts

API = "/api/v1"


def _links(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html.replace("&amp;", "&"))


def _follow(client: TestClient, url: str, method: str = "GET") -> str:
    parts_ = urlsplit(url)
    response = client.request(method, f"{parts_.path}?{parts_.query}")
    assert response.status_code == 200, response.text
    detail: str = response.json()["detail"]
    return detail


def _seed_audits(session: Session, project: Project) -> AuditRun:
    """A completed audit (score 80) and, a week later, the one a running job finishes
    (score 70): one issue fixed, three new (two errors on two URLs, one warning)."""
    earlier = utcnow() - timedelta(days=7)
    previous = AuditRun(
        project_id=project.id,
        status=AuditStatus.completed,
        score=80,
        started_at=earlier,
        finished_at=earlier,
    )
    session.add(previous)
    session.flush()
    session.add(
        AuditIssue(
            audit_id=previous.id,
            url="https://shop.example.com/old",
            code="http_5xx",
            severity=Severity.error,
        )
    )
    session.add(
        AuditIssue(
            audit_id=previous.id,
            url="https://shop.example.com/",
            code="redirect_temporary",
            severity=Severity.warning,
        )
    )
    job = running_job(session, project, job_type="audit")
    audit = AuditRun(
        project_id=project.id,
        job_id=job.id,
        status=AuditStatus.completed,
        score=70,
        finished_at=utcnow(),
    )
    session.add(audit)
    session.flush()
    for url in ("https://shop.example.com/a", "https://shop.example.com/b"):
        session.add(
            AuditIssue(audit_id=audit.id, url=url, code="http_4xx", severity=Severity.error)
        )
    session.add(
        AuditIssue(
            audit_id=audit.id,
            url="https://shop.example.com/",
            code="redirect_temporary",
            severity=Severity.warning,
        )
    )
    session.add(
        AuditIssue(
            audit_id=audit.id,
            url="https://shop.example.com/c",
            code="redirect_chain",
            severity=Severity.warning,
        )
    )
    session.commit()
    return audit


def test_an_audit_finished_email_says_the_score_new_and_fixed_issues_and_links(
    client: TestClient, session: Session, owner: User, project: Project, inbox: Inbox
) -> None:
    audit = _seed_audits(session, project)
    assert audit.job_id is not None
    job = session.get(type(running_job(session, project)), audit.job_id)
    finish_job(session, project, job=job, job_type="audit")
    settle()
    (message,) = inbox.wait_for(1)
    assert message["To"] == owner.email
    assert message["From"] == settings.EMAIL_FROM
    assert message["Subject"] == "Audit of Shop finished: score 70 (was 80)"
    text, html = parts(message)
    assert "Score: 70 (was 80)." in text
    assert "New issues: 3; fixed since the previous audit: 1." in text
    assert "- Page returns a 4xx error (error): 2 URL(s)" in text
    assert "Top new problems" in text
    dashboard = f"{settings.PUBLIC_URL}/audits/{audit.id}"
    assert dashboard in text
    links = _links(html)
    assert dashboard in links
    assert "<li>Page returns a 4xx error (error): 2 URL(s)</li>" in html
    unsubscribe = message["List-Unsubscribe"].strip("<>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in links

    # audit.new_errors was derived too (for webhooks subscribing to it); email by rule only.
    types = {d.event_type for d in session.exec(select(NotificationDelivery)).all()}
    assert types == {"audit.finished"}

    # One-click unsubscribe, without logging in: the owner hears no more of this project.
    assert "no longer" in _follow(client, unsubscribe, method="POST")
    finish_job(session, project, outcome="failed")
    settle()
    assert len(inbox.messages) == 1


def test_a_failed_job_email_says_what_failed_and_what_to_do(
    session: Session, owner: User, project: Project, inbox: Inbox
) -> None:
    job = finish_job(session, project, outcome="failed")
    settle()
    (message,) = inbox.wait_for(1)
    assert message["Subject"] == "Maintenance failed for Shop"
    text, html = parts(message)
    assert "Error: unauthorized - the provider refused the credentials (401)" in text
    assert "What to do: The provider refused the credentials. Reconnect" in text
    assert f"{settings.PUBLIC_URL}/jobs/{job.id}" in _links(html)


def test_other_recipients_receive_nothing_until_they_confirm(
    client: TestClient, session: Session, owner: User, project: Project, inbox: Inbox
) -> None:
    response = client.put(
        f"{API}/projects/{project.id}/notifications",
        json={"recipients": ["Team@Example.com"]},
        headers=auth_headers(owner),
    )
    assert response.status_code == 200, response.text
    assert response.json()["recipients"] == [
        {"email": "team@example.com", "confirmed": False, "unsubscribed": False}
    ]
    finish_job(session, project, outcome="failed")
    settle()
    messages = inbox.wait_for(2)
    by_to = {m["To"]: m for m in messages}
    assert set(by_to) == {"team@example.com", owner.email}
    confirm = by_to["team@example.com"]
    assert confirm["Subject"] == "Confirm notifications for Shop"
    (link,) = [u for u in _links(parts(confirm)[1]) if "/notifications/confirm" in u]
    # A tampered link is refused.
    assert client.get(f"{urlsplit(link).path}?token=x{urlsplit(link).query[7:]}").status_code == 400
    assert "team@example.com will receive" in _follow(client, link)

    finish_job(session, project, outcome="failed")
    settle()
    later = inbox.wait_for(4)[2:]
    assert sorted(m["To"] for m in later) == sorted(["team@example.com", owner.email])
    team = next(m for m in later if m["To"] == "team@example.com")
    assert "no longer" in _follow(client, team["List-Unsubscribe"].strip("<>"))
    finish_job(session, project, outcome="failed")
    settle()
    assert [m["To"] for m in inbox.wait_for(5)[4:]] == [owner.email]


def test_muting_an_event_stops_it_for_that_user(
    client: TestClient, session: Session, owner: User, project: Project, inbox: Inbox
) -> None:
    client.put(
        f"{API}/projects/{project.id}/notifications",
        json={"muted_events": ["job.failed"]},
        headers=auth_headers(owner),
    )
    finish_job(session, project, outcome="failed")
    settle()
    assert inbox.messages == []
    assert session.exec(select(NotificationDelivery)).all() == []


def test_the_test_email_button(
    client: TestClient, session: Session, owner: User, project: Project, inbox: Inbox
) -> None:
    body = client.post(
        f"{API}/projects/{project.id}/notifications/test", headers=auth_headers(owner)
    ).json()
    assert (body["ok"], body["status"]) == (True, "delivered")
    (message,) = inbox.wait_for(1)
    assert message["Subject"] == "Test email for Shop"


def test_without_smtp_emails_are_skipped_and_visible(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "SMTP_HOST", None)
    finish_job(session, project, outcome="failed")
    settle()
    (delivery,) = session.exec(select(NotificationDelivery)).all()
    assert delivery.status == DeliveryStatus.skipped
    assert "not configured" in (delivery.last_error or "")
    headers = auth_headers(owner)
    settings_body = client.get(f"{API}/projects/{project.id}/notifications", headers=headers).json()
    assert settings_body["email_configured"] is False
    emails = client.get(f"{API}/projects/{project.id}/notifications/emails", headers=headers).json()
    assert [(e["status"], e["event_type"]) for e in emails["data"]] == [("skipped", "job.failed")]
    body = client.post(f"{API}/projects/{project.id}/notifications/test", headers=headers).json()
    assert (body["ok"], body["status"]) == (False, "skipped")


def test_user_settings_validate_the_time_zone(client: TestClient, owner: User) -> None:
    headers = auth_headers(owner)
    assert client.get(f"{API}/users/me/notifications", headers=headers).json() == {
        "timezone": "UTC",
        "digest_enabled": True,
    }
    bad = client.put(
        f"{API}/users/me/notifications", json={"timezone": "Mars/Olympus"}, headers=headers
    )
    assert bad.status_code == 422
    good = client.put(
        f"{API}/users/me/notifications", json={"timezone": "Asia/Tokyo"}, headers=headers
    )
    assert good.json()["timezone"] == "Asia/Tokyo"
