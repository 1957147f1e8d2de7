"""Fixtures of the rank-tracking tests: the fake providers (one per module) and clients of
the production code pointed at them."""

from collections.abc import Iterator

import httpx
import pytest
import redis
from sqlmodel import Session, col, select

from app.projects.models import Project
from app.serp import service
from app.serp.budget import DailyCap, RequestGate, account_bucket
from app.serp.intake import Candidate
from app.serp.models import SerpApiConnection, SerpKeyword
from tests.fakes.dataforseo import FakeDataForSeo, fake_dataforseo
from tests.fakes.serpapi import FakeSerpApi, fake_serpapi


@pytest.fixture(scope="module")
def serpapi_server() -> Iterator[FakeSerpApi]:
    with fake_serpapi() as server:
        yield server


@pytest.fixture(scope="module")
def dataforseo_server() -> Iterator[FakeDataForSeo]:
    with fake_dataforseo() as server:
        yield server


@pytest.fixture
def serpapi(serpapi_server: FakeSerpApi, redis_client: redis.Redis) -> Iterator[FakeSerpApi]:
    serpapi_server.reset()
    serpapi_server.results.clear()
    serpapi_server.searches_left = 1_000_000
    yield serpapi_server
    serpapi_server.reset()


@pytest.fixture
def dataforseo(
    dataforseo_server: FakeDataForSeo, redis_client: redis.Redis
) -> Iterator[FakeDataForSeo]:
    dataforseo_server.reset()
    dataforseo_server.items.clear()
    dataforseo_server.balance = 100.0
    yield dataforseo_server
    dataforseo_server.reset()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=2.0) as client:
        yield client


def gate(cap: int = 10_000, per_minute: int = 60_000) -> RequestGate:
    return RequestGate(
        bucket=account_bucket("test", "account", per_minute), cap=DailyCap(limit=cap)
    )


def connect_serpapi(session: Session, project: Project, api_key: str) -> None:
    service.connect(
        session=session,
        project=project,
        body=SerpApiConnection(provider="serpapi", api_key=api_key),
    )


def add_keywords(
    session: Session, project: Project, texts: list[str], **fields: object
) -> list[SerpKeyword]:
    candidates = [
        Candidate(
            line=n,
            text=text,
            fields={"text": text, "country": "US", "language": "en", **fields},
        )
        for n, text in enumerate(texts, 1)
    ]
    report = service.add_keywords(session=session, project=project, candidates=candidates)
    assert report.added == len(texts), report.rejected
    return list(
        session.exec(
            select(SerpKeyword)
            .where(col(SerpKeyword.project_id) == project.id)
            .order_by(col(SerpKeyword.created_at), col(SerpKeyword.text))
        ).all()
    )
