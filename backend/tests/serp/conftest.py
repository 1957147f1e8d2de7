"""Fixtures of the rank-tracking tests: the fake providers (one per module) and clients of
the production code pointed at them."""

from collections.abc import Iterator

import httpx
import pytest
import redis

from app.serp.budget import DailyCap, RequestGate, account_bucket
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
