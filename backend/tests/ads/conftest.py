"""A fake Google (token endpoint + Google Ads API) per test, the settings pointing at it, and
builders for an Ads account and a connected project."""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from app.ads import service
from app.ads.client import AdsAccess, AdsClient
from app.ads.models import AdsConnectionCreate
from app.connections import google
from app.core.config import settings
from app.projects.models import Project
from app.users.models import User
from tests.builders import create_project, create_user
from tests.fakes.google import FakeGoogle
from tests.fakes.google_ads import AdsState, FakeCampaign, install_ads

CUSTOMER = "1234567890"
MANAGER = "9876543210"
DEVELOPER_TOKEN = "basic-developer-token-0123"
TEST_ONLY_TOKEN = "test-only-developer-token-0123"
ACCOUNT = "ads-owner@example.com"
TODAY = date(2026, 11, 30)

CAMPAIGNS = (
    FakeCampaign(111, "Brand | Search", impressions=2000, ctr=0.15, cpc_micros=400_000),
    FakeCampaign(222, "Generic | Search", impressions=8000, ctr=0.04, cpc_micros=1_100_000),
    FakeCampaign(333, "Display | Remarketing", status="PAUSED"),
)


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeGoogle]:
    with FakeGoogle() as server, pytest.MonkeyPatch.context() as patch:
        patch.setattr(settings, "GOOGLE_ADS_API_BASE_URL", server.url)
        # Tests record waits instead of sleeping them, so the shared limit must not bind
        # (tests of the limit lower it).
        patch.setattr(settings, "ADS_REQUESTS_PER_MINUTE", 100_000)
        yield server


@pytest.fixture
def fake(fake_server: FakeGoogle) -> FakeGoogle:
    """The module's fake Google, as new: no routes, no calls, no scripted faults."""
    fake_server.routes.clear()
    fake_server.requests.clear()
    fake_server._faults.clear()
    return fake_server


@pytest.fixture
def ads(fake: FakeGoogle) -> AdsState:
    state = install_ads(fake)
    state.add_developer_token(DEVELOPER_TOKEN)
    state.add_developer_token(TEST_ONLY_TOKEN, approved=False)
    state.add_customer(CUSTOMER, currency="EUR", campaigns=CAMPAIGNS)
    state.grant(ACCOUNT, CUSTOMER)
    return state


@pytest.fixture
def credential(fake: FakeGoogle) -> dict[str, str]:
    return fake.oauth_client(ACCOUNT)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


@dataclass
class Waits:
    """A GoogleSession's waits, recorded instead of slept."""

    seconds: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def ads_client(
    credential: dict[str, Any],
    http: httpx.Client,
    *,
    developer_token: str = DEVELOPER_TOKEN,
    login_customer_id: str | None = None,
    waits: Waits | None = None,
    **kw: Any,
) -> AdsClient:
    access = AdsAccess(
        credential=google.parse_credential(credential),
        developer_token=developer_token,
        login_customer_id=login_customer_id,
    )
    return AdsClient(access, http, sleep=waits if waits is not None else Waits(), **kw)


@pytest.fixture
def owner(session: Session) -> User:
    return create_user(session)


@pytest.fixture
def project(session: Session, owner: User) -> Project:
    return create_project(session, owner=owner)


def connect(
    session: Session,
    project: Project,
    credential: dict[str, Any],
    *,
    customer_id: str = CUSTOMER,
    developer_token: str = DEVELOPER_TOKEN,
    login_customer_id: str | None = None,
) -> None:
    service.connect(
        session=session,
        project=project,
        body=AdsConnectionCreate(
            customer_id=customer_id,
            login_customer_id=login_customer_id,
            developer_token=developer_token,
            credentials=credential,
        ),
    )


@dataclass
class Reporter:
    """A sync's progress, recorded."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    checkpoints: int = 0

    def progress(self, **kw: Any) -> None:
        self.calls.append(kw)

    def checkpoint(self) -> None:
        self.checkpoints += 1

    def reporter(self) -> service.SyncReporter:
        return service.SyncReporter(progress=self.progress, checkpoint=self.checkpoint)


def sync(
    session: Session, project: Project, *, days: int | None = None, today: date = TODAY
) -> tuple[dict[str, Any], Reporter]:
    recorder = Reporter()
    result = service.sync_account(
        session=session,
        project_id=project.id,
        days=days,
        reporter=recorder.reporter(),
        today=today,
    )
    return result, recorder
