"""Public endpoints stay cheap and say little: readiness from a short cache (callers in a
crowd share one check) with worker host names for operators only, /metrics behind a bearer
token, queue depths and workers in /jobs/stats for superusers only."""

import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import settings
from tests.builders import auth_headers, create_user
from tests.core.processes import running_api

READY = "/api/v1/health/ready"
CALLERS = 60


# The crowd runs in a process of its own, so its client-side work does not slow the probe.
CROWD = """
import asyncio, sys, time, httpx

async def main(url, callers, seconds):
    checked = set()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=callers)) as c:
        async def caller():
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                checked.add((await c.get(url)).json()["checked_at"])
                await asyncio.sleep(0.5)
        await asyncio.gather(*(caller() for _ in range(callers)))
    print(len(checked))

asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
"""


def _p99_ms(latencies: list[float]) -> float:
    return statistics.quantiles(latencies, n=100)[98] * 1000


def test_a_crowd_on_readiness_leaves_the_api_fast(session: Session, tmp_path: Path) -> None:
    """60 callers polling readiness twice a second each while /users/me is timed. When every
    call pinged the database, Redis and the workers (a ping waits its full second) on the
    thread pool, the crowd held every thread and /users/me waited a second or more, every
    time. This machine is shared, so a stray pause of a few hundred ms happens even with no
    crowd at all: the best of three rounds of 50 must have its p99 under 200 ms."""
    me = auth_headers(create_user(session))
    seconds = 16.0
    env = {"HEALTH_CACHE_SECONDS": "3"}
    with running_api(log_path=tmp_path / "api.log", env=env) as (base, _api):
        # Warm: the first request of a process opens its pools.
        for _ in range(3):
            assert httpx.get(f"{base}/api/v1/users/me", headers=me).status_code == 200
            assert httpx.get(base + READY, timeout=30).status_code in (200, 503)
        crowd = subprocess.Popen(
            [sys.executable, "-c", CROWD, base + READY, str(CALLERS), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            time.sleep(1.5)  # the crowd is at it
            rounds: list[list[float]] = []
            with httpx.Client(base_url=base, headers=me, timeout=30) as client:
                for _ in range(3):
                    latencies = []
                    for _ in range(50):
                        started = time.perf_counter()
                        assert client.get("/api/v1/users/me").status_code == 200
                        latencies.append(time.perf_counter() - started)
                        time.sleep(0.03)
                    rounds.append(latencies)
            out, _ = crowd.communicate(timeout=60)
        finally:
            crowd.kill()
    p99s = [round(_p99_ms(latencies)) for latencies in rounds]
    assert min(p99s) < 200, f"/users/me p99 per round, ms, under {CALLERS} callers: {p99s}"
    # However many callers, one check per HEALTH_CACHE_SECONDS.
    assert int(out) <= seconds / 3 + 2, out


def test_worker_names_only_for_a_superuser(client: TestClient, session: Session) -> None:
    anonymous = client.get(READY).json()
    assert anonymous["worker_names"] == []
    user = client.get(READY, headers=auth_headers(create_user(session))).json()
    assert user["worker_names"] == []
    garbage = client.get(READY, headers={"Authorization": "Bearer nonsense"})
    assert garbage.status_code in (200, 503)


def test_metrics_want_the_bearer_token(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "METRICS_TOKEN", "m" * 40)
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraped = client.get("/metrics", headers={"Authorization": f"Bearer {'m' * 40}"})
    assert scraped.status_code == 200
    assert "seo_" in scraped.text

    monkeypatch.setattr(settings, "METRICS_TOKEN", None)
    monkeypatch.setattr(settings, "ENVIRONMENT", "production")
    refused = client.get("/metrics")
    assert refused.status_code == 403
    assert "METRICS_TOKEN" in refused.json()["detail"]


def test_queue_depths_and_workers_for_superusers_only(client: TestClient, session: Session) -> None:
    user = client.get("/api/v1/jobs/stats", headers=auth_headers(create_user(session))).json()
    assert user["queues"] == []
    assert user["workers"] == {"online": 0, "names": [], "checked_at": None}
    admin = auth_headers(create_user(session, superuser=True))
    operator = client.get("/api/v1/jobs/stats", headers=admin).json()
    assert {queue["name"] for queue in operator["queues"]} == {"default", "render", "low"}
    assert operator["workers"]["checked_at"] is not None
