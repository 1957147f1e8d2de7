"""Webhooks end to end against a real local receiver that verifies signatures and
timestamps: the payload, retries after 500s, timeouts and 429 with Retry-After, the
auto-disable (with an email to the owner), the delivery log, redeliver, the test ping, and
the SSRF guard refusing private addresses (at creation, and again at send time)."""

import re
import time
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.core.config import settings
from app.notifications import signing
from app.notifications.models import DeliveryAttempt, DeliveryStatus, NotificationDelivery
from app.projects.models import Project
from app.users.models import User
from tests.builders import auth_headers
from tests.notifications.conftest import finish_job, settle
from tests.notifications.receiver import Reply, WebhookReceiver

API = "/api/v1"


def _create(
    client: TestClient, owner: User, project: Project, url: str, events: list[str]
) -> dict[str, object]:
    response = client.post(
        f"{API}/projects/{project.id}/webhooks",
        json={"url": url, "events": events},
        headers=auth_headers(owner),
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


def _hook(
    client: TestClient,
    receiver: WebhookReceiver,
    owner: User,
    project: Project,
    events: list[str] | None = None,
    path: str = "/hook",
) -> str:
    created = _create(client, owner, project, receiver.url(path), events or ["job.completed"])
    receiver.secrets[path] = str(created["secret"])
    return str(created["id"])


def _deliveries(session: Session) -> list[NotificationDelivery]:
    session.expire_all()
    return list(session.exec(select(NotificationDelivery)).all())


def test_a_completed_job_is_posted_once_signed_with_its_facts(
    client: TestClient, session: Session, owner: User, project: Project, receiver: WebhookReceiver
) -> None:
    hook_id = _hook(client, receiver, owner, project, ["job.completed", "job.failed"])
    # The secret is shown once: never in reads.
    read = client.get(f"{API}/webhooks/{hook_id}", headers=auth_headers(owner)).json()
    assert "secret" not in read
    job = finish_job(session, project)
    settle()
    (seen,) = receiver.wait_for(1)
    assert seen.verified
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers[signing.EVENT_HEADER] == "job.completed"
    stamp = int(seen.headers[signing.SIGNATURE_HEADER].split(",")[0].removeprefix("t="))
    assert abs(time.time() - stamp) < 60
    payload = seen.payload
    assert payload["type"] == "job.completed"
    assert payload["job"]["id"] == str(job.id)
    assert payload["job"]["type"] == "maintenance"
    assert payload["job"]["status"] == "completed"
    assert payload["job"]["duration_seconds"] is not None
    assert payload["job"]["result"] == {"pages": 3}
    assert payload["project"] == {
        "id": str(project.id),
        "name": "Shop",
        "site_url": project.site_url,
    }
    assert payload["dashboard_url"] == f"{settings.PUBLIC_URL}/jobs/{job.id}"
    assert payload["summary"]
    uuid.UUID(payload["id"])
    # An old timestamp is what a replay looks like: receivers refuse it.
    assert not signing.verify_webhook(
        receiver.secrets["/hook"],
        seen.body,
        seen.headers[signing.SIGNATURE_HEADER],
        now=time.time() + 3600,
    )
    (delivery,) = _deliveries(session)
    assert delivery.status == DeliveryStatus.delivered
    assert delivery.last_status_code == 200

    log = client.get(f"{API}/webhooks/{hook_id}/deliveries", headers=auth_headers(owner)).json()
    assert log["count"] == 1
    entry = log["data"][0]
    assert (entry["status"], entry["attempts"], entry["last_status_code"]) == ("delivered", 1, 200)
    assert entry["last_latency_ms"] is not None
    assert entry["response_excerpt"] == '{"ok": true}'

    # Redeliver: the same event id and body, sent again.
    response = client.post(
        f"{API}/webhooks/{hook_id}/deliveries/{entry['id']}/redeliver", headers=auth_headers(owner)
    )
    assert response.status_code == 202
    settle()
    first, second = receiver.wait_for(2)
    assert second.body == first.body
    assert second.verified


def test_retries_after_500_timeout_and_429_with_retry_after(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    receiver: WebhookReceiver,
    fast_retries: None,
) -> None:
    _hook(client, receiver, owner, project)
    receiver.script.extend(
        [
            Reply(status=500, body=b"boom"),
            Reply(delay=1.5),  # longer than WEBHOOK_TIMEOUT_SECONDS (0.5)
            Reply(status=429, headers={"Retry-After": "1"}, body=b"slow down"),
        ]
    )
    finish_job(session, project)
    settle()
    seen = receiver.wait_for(4)
    assert [s.verified for s in seen] == [True] * 4
    # Every attempt carries the same event, freshly signed.
    assert len({s.body for s in seen}) == 1
    # Retry-After: 1 was honoured between the 429 and the last attempt.
    assert seen[3].at - seen[2].at >= 0.9
    (delivery,) = _deliveries(session)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.delivered, 4)
    attempts = session.exec(
        select(DeliveryAttempt).order_by(DeliveryAttempt.attempt)  # type: ignore[arg-type]
    ).all()
    assert [a.status_code for a in attempts] == [500, None, 429, 200]
    assert "timed out" in (attempts[1].error or "")
    assert attempts[0].response_excerpt == "boom"


def test_a_receiver_failing_for_good_is_given_up_then_disabled_and_the_owner_emailed(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    receiver: WebhookReceiver,
    fast_retries: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "WEBHOOK_MAX_ATTEMPTS", 3)
    monkeypatch.setattr(settings, "WEBHOOK_DISABLE_AFTER_FAILURES", 5)
    hook_id = _hook(client, receiver, owner, project)
    receiver.default = Reply(status=503, body=b"down")
    finish_job(session, project)
    finish_job(session, project)
    settle()
    hook = client.get(f"{API}/webhooks/{hook_id}", headers=auth_headers(owner)).json()
    assert hook["enabled"] is False
    deliveries = _deliveries(session)
    hooks = [d for d in deliveries if d.channel == "webhook"]
    # Disabled with the burst of recorded attempts that reached the 5th failure in a row
    # (over both deliveries; 3 at most each): the reason counts that burst's failures too.
    failures = int(
        re.fullmatch(
            r"disabled after (\d+) failed attempts in a row", hook["disabled_reason"]
        ).group(1)
    )  # type: ignore[union-attr]
    assert 5 <= failures <= sum(d.attempts for d in hooks)
    assert max(d.attempts for d in hooks) == 3
    assert {d.status for d in hooks} <= {DeliveryStatus.failed, DeliveryStatus.skipped}
    (notice,) = [d for d in deliveries if d.event_type == "webhook.disabled"]
    assert notice.target == owner.email
    # No SMTP in this test: visible as skipped, nothing failed.
    assert notice.status == DeliveryStatus.skipped
    # Events after that are not sent to it.
    before = len(receiver.seen)
    finish_job(session, project)
    settle()
    assert len(receiver.seen) == before
    # Enabled again by its owner, it receives again.
    receiver.default = Reply()
    client.patch(f"{API}/webhooks/{hook_id}", json={"enabled": True}, headers=auth_headers(owner))
    finish_job(session, project)
    settle()
    assert receiver.wait_for(before + 1)[-1].answered == 200


def test_the_test_ping_shows_the_receiver_s_answer(
    client: TestClient, session: Session, owner: User, project: Project, receiver: WebhookReceiver
) -> None:
    hook_id = _hook(client, receiver, owner, project)
    receiver.script.append(Reply(status=202, body=b"pong " + b"x" * 5000))
    response = client.post(f"{API}/webhooks/{hook_id}/test", headers=auth_headers(owner))
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["status_code"] == 202
    assert body["response_excerpt"].startswith("pong ")
    assert len(body["response_excerpt"]) <= 1024  # the body read is capped
    (seen,) = receiver.wait_for(1)
    assert seen.verified
    assert seen.payload["type"] == "webhook.test"
    # A failing receiver is shown, not retried.
    receiver.script.append(Reply(status=500, body=b"nope"))
    body = client.post(f"{API}/webhooks/{hook_id}/test", headers=auth_headers(owner)).json()
    assert (body["ok"], body["status_code"], body["status"]) == (False, 500, "failed")


def test_private_addresses_are_refused_at_creation_and_at_send_time(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hook_id = _hook(client, receiver, owner, project)  # created while loopback was allowed
    monkeypatch.setattr(settings, "WEBHOOK_ALLOW_PRIVATE_NETWORKS", False)
    for url in (
        receiver.url("/hook"),
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:8080/",
        "ftp://example.com/hook",
    ):
        response = client.post(
            f"{API}/projects/{project.id}/webhooks",
            json={"url": url, "events": ["job.completed"]},
            headers=auth_headers(owner),
        )
        assert response.status_code == 422, (url, response.text)
        assert "detail" in response.json()
    finish_job(session, project)
    settle()
    assert receiver.seen == []  # the guard refused to connect
    (delivery,) = _deliveries(session)
    assert delivery.status == DeliveryStatus.failed
    assert "private or reserved" in (delivery.last_error or "")
    assert client.get(f"{API}/webhooks/{hook_id}", headers=auth_headers(owner)).status_code == 200


def test_webhooks_of_another_user_s_project_answer_404(
    client: TestClient, session: Session, owner: User, project: Project, receiver: WebhookReceiver
) -> None:
    from tests.builders import create_user

    hook_id = _hook(client, receiver, owner, project)
    stranger = auth_headers(create_user(session))
    assert client.get(f"{API}/webhooks/{hook_id}", headers=stranger).status_code == 404
    assert client.post(f"{API}/webhooks/{hook_id}/test", headers=stranger).status_code == 404
    assert client.delete(f"{API}/webhooks/{hook_id}", headers=stranger).status_code == 404
    assert (
        client.delete(f"{API}/webhooks/{hook_id}", headers=auth_headers(owner)).status_code == 204
    )
