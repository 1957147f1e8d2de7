"""Readiness against real parts: a real worker process, a Redis that goes away, a database
that does not answer."""

import json
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.local.embedded import EmbeddedRedis
from tests.builders import auth_headers, create_user
from tests.core.processes import (
    cli,
    free_port,
    http_get,
    running,
    stop,
    wait_for,
    wait_for_http,
)

READY = "/api/v1/health/ready"


def test_liveness(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.slow
def test_ready_with_a_real_worker(client: TestClient, session: Session, tmp_path: Path) -> None:
    node = f"health-{uuid.uuid4().hex[:8]}"
    command = cli("worker", "-Q", "default,low", "-c", "1", "-n", f"{node}@%h")
    operator_headers = auth_headers(create_user(session, superuser=True))
    with running(command, log_path=tmp_path / "worker.log") as worker:
        # Readiness reuses a worker ping for a few seconds: wait until it names this worker
        # (to an operator: host names are for superusers only).
        wait_for(
            lambda: any(
                n.startswith(f"{node}@")
                for n in client.get(READY, headers=operator_headers).json()["worker_names"]
            ),
            timeout=120,
            what="readiness with this worker",
            child=worker,
        )
        body = client.get(READY).json()
        operator = client.get(READY, headers=operator_headers)
    assert body["status"] == "ok"
    for component in ("database", "redis", "workers"):
        assert body[component]["ok"] is True, body
    # Host names only for operators.
    assert body["worker_names"] == []
    names = operator.json()["worker_names"]
    assert any(name.startswith(f"{node}@") for name in names), names


def _api(tmp_path: Path, name: str, env: dict[str, str]) -> tuple[list[str], Path, str]:
    port = free_port()
    command = cli("api", "--host", "127.0.0.1", "--port", str(port))
    return command, tmp_path / f"{name}.log", f"http://127.0.0.1:{port}/api/v1"


@pytest.mark.slow
def test_ready_names_the_workers_then_redis_when_they_go_away(tmp_path: Path) -> None:
    # A private Redis nobody else uses: no worker of any other test can answer the ping.
    redis_server = EmbeddedRedis(tmp_path, free_port())
    broker = redis_server.url()
    env = {
        "REDIS_URL": broker,
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "HEALTH_CACHE_SECONDS": "0",  # see Redis go away at once, not after the cache
    }
    with running(redis_server.foreground_command(), log_path=tmp_path / "redis.log") as redis:
        command, log_path, base = _api(tmp_path, "api", env)
        with running(command, log_path=log_path, env=env) as api:
            wait_for_http(f"{base}/health", status=200, timeout=120, child=api)
            status, raw, _ = http_get(f"{base}/health/ready")
            assert status == 503
            body = json.loads(raw)
            assert body["status"] == "unavailable"
            assert body["database"]["ok"] is True
            assert body["redis"]["ok"] is True
            assert body["workers"] == {"ok": False, "detail": "no worker answered the ping"}

            stop(redis)  # Redis goes away under a running API
            status, raw, _ = http_get(f"{base}/health/ready")
    assert status == 503
    body = json.loads(raw)
    assert body["database"]["ok"] is True
    assert body["redis"]["ok"] is False
    assert "redis unreachable" in body["redis"]["detail"]
    assert body["workers"]["ok"] is False


@pytest.mark.slow
def test_ready_names_the_database_when_it_does_not_answer(tmp_path: Path) -> None:
    closed = free_port()
    env = {"DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{closed}/nowhere"}
    command, log_path, base = _api(tmp_path, "api", env)
    with running(command, log_path=log_path, env=env) as api:
        wait_for_http(f"{base}/health", status=200, timeout=120, child=api)
        status, raw, _ = http_get(f"{base}/health/ready")
    assert status == 503
    body = json.loads(raw)
    assert body["database"]["ok"] is False
    assert "database unreachable" in body["database"]["detail"]
    assert body["redis"]["ok"] is True
