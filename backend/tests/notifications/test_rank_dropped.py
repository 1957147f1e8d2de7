"""rank.dropped: a real worker completes a rank refresh against the fake SerpApi, with the
keywords' previous checks seeded as yesterday's snapshots; the outbox consumer derives one
rank.dropped event from the refresh's rank changes, delivered once to a real receiver (and
by email when the rules say so). The rule (app.serp.models.places_lost): more than the
project's `rank_drop_positions` places (default 5; exactly 5 is not a drop), falling out of
the checked depth counts as position depth + 1, a failed check is never a drop."""

import datetime as dt
import uuid
from collections.abc import Iterator
from html import escape

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.core.config import settings
from app.core.db import session_scope, utcnow
from app.jobs.models import JobEvent, JobRun, JobStatus
from app.notifications import dispatch
from app.notifications.models import NotificationDelivery
from app.projects.models import Project
from app.serp import service as serp_service
from app.serp.client import SerpCheck
from app.serp.models import SerpKeyword, SerpRankChange, SerpSnapshot
from app.users.models import User
from tests.builders import auth_headers
from tests.fakes.provider_server import Reply, filler_urls
from tests.fakes.serpapi import FakeSerpApi, fake_serpapi
from tests.jobs.conftest import wait_terminal
from tests.notifications.conftest import finish_job, running_job, settle
from tests.notifications.receiver import WebhookReceiver
from tests.notifications.smtp import Inbox, parts
from tests.notifications.test_webhooks import _hook
from tests.serp.conftest import add_keywords, connect_serpapi
from tests.workers import WorkerProcess, celery_worker

API = "/api/v1"
DEPTH = 30
SITE = "https://shop.example.com"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def serpapi() -> Iterator[FakeSerpApi]:
    with fake_serpapi() as server:
        yield server


@pytest.fixture(scope="module")
def worker(serpapi: FakeSerpApi) -> Iterator[WorkerProcess]:
    env = {
        "SERPAPI_BASE_URL": serpapi.url,
        "SERP_CHECK_DEPTH": str(DEPTH),
        "SERP_REFRESH_DAILY_CAP": "1000000",
        "SERPAPI_REQUESTS_PER_MINUTE": "60000",
    }
    with celery_worker(
        concurrency=1, queues="default", include="app.serp.tasks", env=env, ready_timeout=90
    ) as process:
        yield process


@pytest.fixture
def provider(serpapi: FakeSerpApi) -> Iterator[FakeSerpApi]:
    serpapi.reset()
    serpapi.results.clear()
    yield serpapi
    serpapi.reset()


def _ranks(provider: FakeSerpApi, text: str, position: int | None) -> None:
    """Google ranks the site's page for `text` at `position` (None: not in the first 100)."""
    others = filler_urls(text, 100)
    if position is not None:
        others.insert(position - 1, f"{SITE}/{text.replace(' ', '-')}")
    provider.results[text] = others


OUT = 0  # a previous check that did not find the site within the depth


def _seed_previous(session: Session, keyword: SerpKeyword, position: int) -> None:
    """Yesterday's completed check of the keyword: at `position`, or not in the top (OUT)."""
    yesterday = utcnow() - dt.timedelta(days=1)
    session.add(
        SerpSnapshot(
            keyword_id=keyword.id,
            project_id=keyword.project_id,
            checked_on=yesterday.date(),
            checked_at=yesterday,
            status="ranked" if position != OUT else "not_in_top_n",
            position=position if position != OUT else None,
            url=None if position == OUT else f"{SITE}/{keyword.text.replace(' ', '-')}",
            depth=DEPTH,
            provider="serpapi",
        )
    )
    session.commit()


def _tracked(
    session: Session,
    project: Project,
    provider: FakeSerpApi,
    moves: dict[str, tuple[int | None, int | None]],
) -> dict[str, SerpKeyword]:
    """Keywords with their previous check seeded and today's ranking set on the provider:
    text -> (previous position, OUT, or None for no previous check; position today or
    None for not in the top)."""
    connect_serpapi(session, project, provider.api_key)
    keywords = {k.text: k for k in add_keywords(session, project, list(moves))}
    for text, (before, now) in moves.items():
        if before is not None:
            _seed_previous(session, keywords[text], before)
        _ranks(provider, text, now)
    return keywords


def _refresh(session: Session, project: Project, owner: User) -> JobRun:
    job, _ = serp_service.start_refresh(session=session, project=project, user=owner)
    done = wait_terminal(job.id, timeout=60)
    assert done.status == JobStatus.completed, done.error_message
    return done


def _rank_deliveries(session: Session) -> list[NotificationDelivery]:
    session.expire_all()
    return list(
        session.exec(
            select(NotificationDelivery).where(
                col(NotificationDelivery.event_type) == "rank.dropped"
            )
        ).all()
    )


def test_a_refresh_that_drops_keywords_sends_one_rank_dropped_event(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    receiver: WebhookReceiver,
    inbox: Inbox,
    provider: FakeSerpApi,
    worker: WorkerProcess,
) -> None:
    _hook(client, receiver, owner, project, ["rank.dropped"])
    response = client.put(
        f"{API}/projects/{project.id}/notifications",
        json={"email_events": ["rank.dropped"]},
        headers=auth_headers(owner),
    )
    assert response.status_code == 200, response.text
    assert response.json()["rank_drop_positions"] == 5
    _tracked(
        session,
        project,
        provider,
        {
            "red shoes": (3, 12),  # 9 places lower: a drop
            "blue shoes": (4, 9),  # exactly 5 places: not more than 5, not a drop
            "green shoes": (20, None),  # out of the top 30: counted as 31, 11 places
            "grey shoes": (28, None),  # out of the top 30 from 28: 3 places at least
            "white shoes": (10, 2),  # up
            "black shoes": (7, 7),  # unchanged
            "pink shoes": (None, 25),  # first check: nothing to compare
        },
    )
    job = _refresh(session, project, owner)
    assert (job.result_json or {})["checked"] == 7
    settle()
    (seen,) = receiver.wait_for(1)
    assert seen.verified
    payload = seen.payload
    assert payload["type"] == "rank.dropped"
    assert payload["job"]["id"] == str(job.id)
    assert payload["job"]["type"] == "serp_refresh"
    assert payload["dashboard_url"] == f"{settings.PUBLIC_URL}/projects/{project.id}"
    data = payload["data"]
    assert (data["threshold"], data["count"], data["truncated"]) == (5, 2, False)
    listed = [
        (
            k["keyword"],
            k["previous_position"],
            k["position"],
            k["places_lost"],
            k["out_of_depth"],
            k["url"],
            k["previous_url"],
        )
        for k in data["keywords"]
    ]
    assert listed == [
        ("green shoes", 20, None, 11, True, None, f"{SITE}/green-shoes"),
        ("red shoes", 3, 12, 9, False, f"{SITE}/red-shoes", f"{SITE}/red-shoes"),
    ]
    assert payload["summary"] == "2 keyword(s) of Shop dropped more than 5 places"

    # The email says the same, in both parts.
    (message,) = inbox.wait_for(1)
    assert message["To"] == owner.email
    assert message["Subject"] == "Rank drops for Shop: 2 keyword(s)"
    text, html = parts(message)
    red = f"red shoes (US, en, desktop): #3 -> #12 (-9), {SITE}/red-shoes"
    green = (
        f"green shoes (US, en, desktop): #20 -> not in the top 30 (-11 or more), {SITE}/green-shoes"
    )
    text = text.replace("\r\n", "\n")
    assert f"- {green}\n- {red}" in text
    assert f"<li>{escape(red)}</li>" in html
    assert "blue shoes" not in text

    # The completion processed again (a replay after a crash before the consumer's commit):
    # nothing new is recorded or sent.
    for event in session.exec(select(JobEvent).where(col(JobEvent.job_id) == job.id)):
        event.processed_at = None
        session.add(event)
    session.commit()
    with session_scope() as other:
        report = dispatch.dispatch_pending_events(session=other)
    assert (report.events, report.deliveries) == (1, 0)
    settle()
    assert len(receiver.seen) == 1
    assert len(inbox.messages) == 1
    assert len(_rank_deliveries(session)) == 2  # the webhook and the owner's email


def test_a_refresh_without_drops_sends_no_rank_event(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    receiver: WebhookReceiver,
    provider: FakeSerpApi,
    worker: WorkerProcess,
) -> None:
    _hook(client, receiver, owner, project, ["rank.dropped"], path="/ranks")
    _hook(client, receiver, owner, project, ["job.completed"], path="/jobs")
    _tracked(
        session,
        project,
        provider,
        {"red shoes": (3, 2), "blue shoes": (OUT, None), "green shoes": (None, None)},
    )
    job = _refresh(session, project, owner)
    settle()
    # The completion was dispatched (its job.completed went out), and made no rank.dropped.
    (seen,) = receiver.wait_for(1)
    assert (seen.path, seen.payload["job"]["id"]) == ("/jobs", str(job.id))
    assert _rank_deliveries(session) == []
    # The moves were recorded all the same (the digest's rank movers read them).
    changes = session.exec(select(SerpRankChange).where(col(SerpRankChange.job_id) == job.id))
    assert sorted((c.previous_position, c.position) for c in changes) == [(3, 2)]


def test_a_failed_check_is_never_a_drop(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    receiver: WebhookReceiver,
    provider: FakeSerpApi,
    worker: WorkerProcess,
) -> None:
    _hook(client, receiver, owner, project, ["rank.dropped", "job.completed"])
    _tracked(session, project, provider, {"red shoes": (2, None)})
    provider.fail(r"^/search\.json$", Reply(400, {"error": "Unsupported `gl` parameter."}))
    job = _refresh(session, project, owner)
    assert (job.result_json or {})["failed"] == 1
    settle()
    (seen,) = receiver.wait_for(1)
    assert seen.payload["type"] == "job.completed"
    assert _rank_deliveries(session) == []
    assert session.exec(select(SerpRankChange)).all() == []


def _record_drop(session: Session, project: Project, job: JobRun, text: str) -> None:
    """The check a refresh job records: `text` from #2 yesterday to #20 today."""
    connect_serpapi(session, project, "serpapi-test-key-0001")
    (keyword,) = [k for k in add_keywords(session, project, [text]) if k.text == text]
    _seed_previous(session, keyword, 2)
    check = SerpCheck(position=20, url=f"{SITE}/x", top=(), depth=DEPTH, requests=1)
    serp_service.record_checks(
        session=session,
        outcomes=[serp_service.CheckOutcome(keyword, check)],
        provider="serpapi",
        depth=DEPTH,
        job_id=job.id,
    )


def test_mutes_and_the_threshold_apply(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    receiver: WebhookReceiver,
    inbox: Inbox,
) -> None:
    _hook(client, receiver, owner, project, ["rank.dropped"])
    # The owner mutes rank.dropped: their email stops; the project's webhook still goes.
    response = client.put(
        f"{API}/projects/{project.id}/notifications",
        json={"email_events": ["rank.dropped"], "muted_events": ["rank.dropped"]},
        headers=auth_headers(owner),
    )
    assert response.status_code == 200, response.text
    job = running_job(session, project, job_type="serp_refresh")
    _record_drop(session, project, job, "red shoes")
    finish_job(session, project, job=job, job_type="serp_refresh")
    settle()
    (seen,) = receiver.wait_for(1)
    assert seen.payload["data"]["count"] == 1
    assert [d.channel for d in _rank_deliveries(session)] == ["webhook"]
    assert inbox.messages == []

    # A higher threshold: 18 places lost is not more than 20.
    client.put(
        f"{API}/projects/{project.id}/notifications",
        json={"rank_drop_positions": 20},
        headers=auth_headers(owner),
    )
    other = running_job(session, project, job_type="serp_refresh")
    _record_drop(session, project, other, f"shoes {uuid.uuid4().hex[:6]}")
    finish_job(session, project, job=other, job_type="serp_refresh")
    settle()
    assert len(receiver.seen) == 1
    assert len(_rank_deliveries(session)) == 1
