"""Search Console tests: one local Google per module with the Search Console routes, a fresh
fake state per test, and builders for connected projects."""

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import redis
from sqlmodel import Session

from app.core.config import settings
from app.core.db import session_scope
from app.gsc import service
from app.gsc.models import GscConnectionCreate
from app.projects.models import Project
from app.users.models import User
from tests.builders import create_project, create_user
from tests.conftest import TEST_REDIS_URL
from tests.fakes.google import FakeGoogle
from tests.fakes.gsc import GscState, install_gsc

DOMAIN_PROPERTY = "sc-domain:example.com"
PREFIX_PROPERTY = "https://www.example.com/"
TODAY = dt.date(2026, 11, 30)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGoogle]:
    with FakeGoogle() as server:
        yield server


@pytest.fixture
def gsc(fake: FakeGoogle, monkeypatch: pytest.MonkeyPatch) -> GscState:
    """A fresh Search Console state; settings pointed at the fake; limits out of the way."""
    fake.routes.clear()
    fake.requests.clear()
    fake._faults.clear()
    monkeypatch.setattr(settings, "GSC_API_BASE_URL", fake.url)
    monkeypatch.setattr(settings, "GSC_QUERIES_PER_MINUTE", 1_000_000)
    monkeypatch.setattr(settings, "PROVIDER_RETRY_MAX_SECONDS", 5.0)
    client = redis.Redis.from_url(TEST_REDIS_URL)
    for key in client.scan_iter("tokens:gsc:*"):
        client.delete(key)
    client.close()
    return install_gsc(fake, today=TODAY)


@dataclass
class Connected:
    owner: User
    project: Project
    property: str
    credential: dict[str, Any]
    account: str
    progress: list[tuple[int, int, str]] = field(default_factory=list)

    def sync(self, *, today: dt.date = TODAY, **kw: Any) -> dict[str, Any]:
        with session_scope() as session:
            return service.run_sync(
                session=session,
                project_id=self.project.id,
                config={},
                progress=lambda *args: self.progress.append(args),
                checkpoint=lambda: None,
                today=today,
                **kw,
            )

    def backfill(self, config: dict[str, Any], **kw: Any) -> dict[str, Any]:
        with session_scope() as session:
            return service.run_backfill(
                session=session,
                project_id=self.project.id,
                config=config,
                progress=lambda *args: self.progress.append(args),
                **{"checkpoint": lambda: None, **kw},
            )


def connect(
    session: Session,
    fake: FakeGoogle,
    gsc: GscState,
    *,
    property: str = DOMAIN_PROPERTY,
    grant: bool = True,
    owner: User | None = None,
) -> Connected:
    owner = owner or create_user(session)
    project = create_project(session, owner=owner)
    account = f"sync-{uuid.uuid4().hex[:6]}@seo-project.iam.gserviceaccount.com"
    credential = fake.service_account(account)
    if grant:
        gsc.grant(account, property)
    body = GscConnectionCreate(property=property, credentials=credential)
    service.connect(session=session, project=project, body=body)
    return Connected(owner, project, property, credential, account)


def stored_rows(site_url: str, day: dt.date | None = None) -> list[tuple[Any, ...]]:
    """(date, query, page, country, device, clicks, impressions, position), sorted."""
    import sqlalchemy as sa

    with session_scope() as session:
        return [
            tuple(row)
            for row in session.execute(
                sa.text(
                    "SELECT r.date, q.query, p.page, r.country, r.device, r.clicks,"
                    " r.impressions, r.position FROM gsc_rows r"
                    " JOIN gsc_sites s ON s.id = r.site_id"
                    " JOIN gsc_queries q ON q.id = r.query_id"
                    " JOIN gsc_pages p ON p.id = r.page_id"
                    " WHERE s.property = :p AND (CAST(:d AS date) IS NULL OR r.date = :d)"
                    " ORDER BY 1, 2, 3, 4, 5"
                ),
                {"p": site_url, "d": day},
            )
        ]


def expected_rows(gsc: GscState, site_url: str, day: dt.date) -> list[tuple[Any, ...]]:
    return sorted(
        (day, *row["keys"][1:], row["clicks"], row["impressions"], row["position"])
        for row in gsc.rows(site_url, day)
    )
