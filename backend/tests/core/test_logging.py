"""Logging as operators read it: the API and a worker run as real processes with JSON logs,
and their whole output is parsed."""

import json
import re
import subprocess
import sys
import uuid

import pytest
from celery import Celery
from cryptography.fernet import Fernet

from app.local.embedded import EmbeddedRedis
from tests.core.processes import (
    BACKEND,
    cli,
    free_port,
    http_get,
    running,
    wait_for,
    wait_for_http,
)

pytestmark = pytest.mark.slow

JSON_LOGS = {"LOG_JSON": "true", "LOG_LEVEL": "INFO"}


def test_api_logs_json_lines_with_a_request_id(tmp_path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/v1"
    command = cli("api", "--host", "127.0.0.1", "--port", str(port))
    with running(command, log_path=tmp_path / "api.log", env=JSON_LOGS) as api:
        wait_for_http(f"{base}/health", status=200, timeout=120, child=api)
        _, _, given = http_get(f"{base}/health", headers={"X-Request-ID": "ops-probe-1"})
        status, _, generated = http_get(f"{base}/users/me")
    assert status == 401
    assert given["x-request-id"] == "ops-probe-1"
    generated_id = generated["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated_id)

    records = api.json_lines()  # raises if any line, uvicorn's included, is not JSON
    assert all({"event", "level", "timestamp", "logger"} <= record.keys() for record in records)
    uvicorn = [record for record in records if record["logger"].startswith("uvicorn")]
    assert any("Uvicorn running" in record["event"] for record in uvicorn)
    assert any("Finished server process" in record["event"] for record in uvicorn)

    requests = [record for record in records if record["logger"] == "app.access"]
    assert all(record.get("request_id") for record in requests)
    by_id = {record["request_id"]: record for record in requests}
    assert by_id["ops-probe-1"]["path"] == "/api/v1/health"
    assert by_id[generated_id]["path"] == "/api/v1/users/me"
    assert by_id[generated_id]["status"] == 401
    # Ids are per request: the polling above got ids of its own.
    assert len(by_id) == len(requests)


def test_worker_lines_carry_the_task_id(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A private Redis: no other worker can take the probe, and this worker takes nothing else.
    redis_server = EmbeddedRedis(tmp_path, free_port())
    broker = redis_server.url()
    env = {**JSON_LOGS, "REDIS_URL": broker, "CELERY_BROKER_URL": broker}
    env["CELERY_RESULT_BACKEND"] = broker
    # Celery prefers these variables to its arguments; the test run sets them for its Redis.
    monkeypatch.setenv("CELERY_BROKER_URL", broker)
    monkeypatch.setenv("CELERY_RESULT_BACKEND", broker)
    client = Celery("log-probe-client", broker=broker, backend=broker)
    node = f"logprobe-{uuid.uuid4().hex[:8]}@%h"
    command = cli("worker", "-Q", "default", "-c", "1", "-n", node)
    command += ["--include", "tests.core.log_probe"]
    marker = uuid.uuid4().hex
    with (
        running(redis_server.foreground_command(), log_path=tmp_path / "redis.log"),
        running(command, log_path=tmp_path / "worker.log", env=env) as worker,
    ):
        wait_for(
            lambda: bool(client.control.ping(timeout=1)),
            timeout=120,
            what="the worker answers a ping",
            child=worker,
        )
        result = client.send_task("tests.log_probe", args=[marker], queue="default")
        assert result.get(timeout=60) == marker
        task_id = result.id
        wait_for(lambda: "succeeded" in worker.output(), timeout=10, what="the success line")

    records = worker.json_lines(terminal_notices=("worker: Warm shutdown",))
    about_task = [record for record in records if task_id in json.dumps(record)]
    events = " | ".join(record["event"] for record in about_task)
    assert "received" in events
    assert "succeeded" in events
    probe = [record for record in records if marker in json.dumps(record)]
    assert {record["logger"] for record in probe} >= {"tests.log_probe", "tests.stdlib"}
    for record in about_task + probe:
        assert record.get("task_id") == task_id, record
    structlog_line = next(record for record in probe if record["logger"] == "tests.log_probe")
    assert structlog_line["task_name"] == "tests.log_probe"


def _log_one_line(env: dict[str, str]) -> str:
    script = (
        "from app.core.logging import configure_logging, get_logger;"
        "configure_logging(); get_logger('probe').info('hello', answer=42)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=BACKEND,
        env={**_base_env(), "LOG_LEVEL": "INFO", **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return completed.stderr.strip()


def _base_env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("LOG_JSON", None)
    return env


def test_json_in_production_console_in_development() -> None:
    strong = "s" * 40
    production = _log_one_line(
        {
            "ENVIRONMENT": "production",
            "SECRET_KEY": strong,
            "FIRST_SUPERUSER_PASSWORD": strong,
            "FLOWER_BASIC_AUTH_PASSWORD": strong,
            "CREDENTIALS_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        }
    )
    record = json.loads(production)
    assert (record["event"], record["answer"], record["level"]) == ("hello", 42, "info")

    development = _log_one_line({"ENVIRONMENT": "local"})
    assert not development.startswith("{")
    assert "hello" in development
    assert "answer=42" in development
