"""Login protection: rate limits per account and per address in Redis (429, Retry-After),
the same work for unknown emails as for wrong passwords, and Argon2 work that a flood of
logins cannot turn into a starved database pool."""

import asyncio
import statistics
import time
from pathlib import Path

import httpx
import pytest
import redis
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import settings
from app.core.rate_limit import KEY_PREFIX
from tests.builders import DEFAULT_PASSWORD, auth_headers, create_user
from tests.core.processes import running_api

LOGIN = "/api/v1/login/access-token"


def _login(client: TestClient, email: str, password: str) -> httpx.Response:
    return client.post(LOGIN, data={"username": email, "password": password})


def test_an_account_is_limited_with_retry_after(
    client: TestClient,
    session: Session,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "LOGIN_RATE_LIMIT_PER_ACCOUNT", 3)
    target = create_user(session)
    for _ in range(3):
        assert _login(client, target.email, "wrong-password").status_code == 401
    limited = _login(client, target.email, DEFAULT_PASSWORD)
    assert limited.status_code == 429
    assert "this account" in limited.json()["detail"]
    retry_after = int(limited.headers["Retry-After"])
    assert 0 < retry_after <= settings.LOGIN_RATE_LIMIT_WINDOW_SECONDS
    # The count lives in Redis, where every API process reads it (hashed, no email in keys).
    keys = [key.decode() for key in redis_client.scan_iter(f"{KEY_PREFIX}*")]
    assert keys
    assert not any(target.email in key for key in keys)

    other = create_user(session)
    assert _login(client, other.email, DEFAULT_PASSWORD).status_code == 200


def test_a_success_clears_the_account_count(
    client: TestClient,
    session: Session,
    redis_client: redis.Redis,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "LOGIN_RATE_LIMIT_PER_ACCOUNT", 3)
    user = create_user(session)
    for _ in range(2):
        assert _login(client, user.email, "typo-typo").status_code == 401
    assert _login(client, user.email, DEFAULT_PASSWORD).status_code == 200
    for _ in range(2):
        assert _login(client, user.email, "typo-typo").status_code == 401
    assert _login(client, user.email, DEFAULT_PASSWORD).status_code == 200


def test_an_address_is_limited_across_accounts(
    client: TestClient, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "LOGIN_RATE_LIMIT_PER_ADDRESS", 4)
    for n in range(4):
        assert _login(client, f"nobody{n}@example.com", "whatever1").status_code == 401
    limited = _login(client, "nobody-else@example.com", "whatever1")
    assert limited.status_code == 429
    assert "your address" in limited.json()["detail"]
    assert int(limited.headers["Retry-After"]) > 0


def test_signups_are_limited_per_address(
    client: TestClient, redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "SIGNUP_RATE_LIMIT_PER_ADDRESS", 2)
    for n in range(2):
        made = client.post(
            "/api/v1/users/signup",
            json={"email": f"new{n}@example.com", "password": DEFAULT_PASSWORD},
        )
        assert made.status_code == 201
    limited = client.post(
        "/api/v1/users/signup", json={"email": "new9@example.com", "password": DEFAULT_PASSWORD}
    )
    assert limited.status_code == 429
    assert "Retry-After" in limited.headers


def test_unknown_email_costs_the_same_as_a_wrong_password(
    client: TestClient, session: Session
) -> None:
    user = create_user(session)

    def median_seconds(email: str) -> float:
        times = []
        for _ in range(7):
            started = time.perf_counter()
            assert _login(client, email, "not-the-password").status_code == 401
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    wrong_password = median_seconds(user.email)
    unknown_email = median_seconds("nobody-at-all@example.com")
    # Without the decoy hash an unknown email answers in a few ms, a wrong password after a
    # full Argon2 verification (~0.1 s): a timing oracle for which emails have accounts.
    assert unknown_email > 0.6 * wrong_password, (unknown_email, wrong_password)


async def _flood_and_probe(base: str, email: str, me_headers: dict[str, str]) -> tuple:  # type: ignore[type-arg]
    async with httpx.AsyncClient(
        base_url=base, timeout=60, limits=httpx.Limits(max_connections=100)
    ) as client:
        flood = [
            asyncio.create_task(
                client.post(LOGIN, data={"username": email, "password": "wrong-pw"})
            )
            for _ in range(30)
        ]
        await asyncio.sleep(0.3)  # the flood is queued on the server
        latencies = []
        for _ in range(8):
            started = time.perf_counter()
            me = await client.get("/api/v1/users/me", headers=me_headers)
            latencies.append(time.perf_counter() - started)
            assert me.status_code == 200
        statuses = [r.status_code for r in await asyncio.gather(*flood)]
    return latencies, statuses


@pytest.mark.serial
def test_a_login_flood_does_not_starve_the_database_pool(session: Session, tmp_path: Path) -> None:
    """One pooled connection for requests, one Argon2 slot: 30 wrong-password logins at once
    (~0.15 s of Argon2 each, over 4 s in all) while another user reads /users/me. A login
    that verified holding its connection made every other request queue behind the flood."""
    victim = create_user(session)
    reader = create_user(session)
    env = {
        "DATABASE_POOL_SIZE": "1",
        "DATABASE_MAX_OVERFLOW": "1",
        "PASSWORD_HASH_CONCURRENCY": "1",
        "PASSWORD_HASH_QUEUE_TIMEOUT": "30",
    }
    with running_api(log_path=tmp_path / "api.log", env=env) as (base, _api):
        latencies, statuses = asyncio.run(
            _flood_and_probe(base, victim.email, auth_headers(reader))
        )
    # Each is refused; on a loaded machine a login that waited PASSWORD_HASH_QUEUE_TIMEOUT for
    # an Argon2 slot gets the designed 503 instead. Never a 500, never a hung request.
    assert set(statuses) <= {401, 503}, statuses
    assert statuses.count(401) >= 10, statuses
    assert max(latencies) < 1.0, [round(s, 3) for s in latencies]
