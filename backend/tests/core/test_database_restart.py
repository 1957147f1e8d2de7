"""PostgreSQL restarts under a running API and a running job: every request after the
restart answers, at once and without a 500, through both pools (the async job-status pool
and the engine's), and the job goes on in the same attempt once the server is back.

The database is a private cluster these tests restart; the API and the worker are real.
"""

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

from app.core.db import make_engine
from app.core.migrations import upgrade_to_head
from app.jobs import service
from app.jobs.models import JobRun, JobStatus
from app.local.embedded import ensure_database
from tests.core.processes import cli, free_port, http_get, running, wait_for_http
from tests.core.servers import PrivatePostgres, PrivateRedis, private_postgres, private_redis
from tests.jobs.conftest import executions, wait_for
from tests.workers import celery_worker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def database() -> Iterator[PrivatePostgres]:
    with private_postgres() as server:
        ensure_database(server.url("seo_platform"))
        upgrade_to_head(server.url("seo_platform"))
        yield server


@pytest.fixture(scope="module")
def broker() -> Iterator[PrivateRedis]:
    with private_redis() as server:
        yield server


def _send(
    url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, json.loads(response.read())


def _owner_with_a_job(base: str) -> tuple[dict[str, str], str, str]:
    as_json = {"Content-Type": "application/json"}
    account = {"email": "restart@example.com", "password": "a-long-password"}
    _send(f"{base}/users/signup", data=json.dumps(account).encode(), headers=as_json)
    form = urllib.parse.urlencode({"username": account["email"], "password": account["password"]})
    _, token = _send(
        f"{base}/login/access-token",
        data=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    project = json.dumps({"name": "Restart", "site_url": "https://example.com"}).encode()
    _, created = _send(f"{base}/projects", data=project, headers={**as_json, **bearer})
    _, job = _send(f"{base}/projects/{created['id']}/audits", data=b"", headers=bearer)
    return bearer, created["id"], job["id"]


def test_requests_after_a_database_restart_answer_without_errors(
    database: PrivatePostgres, broker: PrivateRedis, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        "DATABASE_URL": database.url("seo_platform"),
        "REDIS_URL": broker.url(),
        "CELERY_BROKER_URL": broker.url(),
        "CELERY_RESULT_BACKEND": broker.url(),
    }
    base = f"http://127.0.0.1:{port}/api/v1"
    command = cli("api", "--host", "127.0.0.1", "--port", str(port))
    with running(command, log_path=tmp_path / "api.log", env=env) as api:
        wait_for_http(f"{base}/health", status=200, timeout=120, child=api)
        bearer, project_id, job_id = _owner_with_a_job(base)
        urls = [f"{base}/jobs/{job_id}", f"{base}/projects/{project_id}"]
        for _ in range(3):  # every pooled connection of both pools is in use once
            for url in urls:
                assert http_get(url, headers=bearer)[0] == 200

        database.restart(down_for=2.5)

        slowest = 0.0
        for round_ in range(5):
            for url in urls:
                started = time.monotonic()
                status, body, _ = http_get(url, headers=bearer)
                took = time.monotonic() - started
                slowest = max(slowest, took)
                assert status == 200, (round_, url, status, body, api.output()[-3000:])
        assert slowest < 5, f"a request took {slowest:.1f}s after the restart"


def test_a_running_job_waits_out_a_database_restart_and_completes(
    database: PrivatePostgres,
) -> None:
    url = database.url("seo_platform")
    engine = make_engine(url, pool_size=1)

    def load(job_id: object) -> JobRun:
        with Session(engine) as session:
            job = session.get(JobRun, job_id)
            assert job is not None
            return job

    try:
        with celery_worker(concurrency=1, env={"DATABASE_URL": url}):
            with Session(engine, expire_on_commit=False) as session:
                job, _ = service.start_job(
                    session=session,
                    job_type="maintenance",
                    stage="test_steps",
                    project=None,
                    user=None,
                    config={"steps": 40, "rounds": 100, "pause": 0.2},
                )
            wait_for(lambda: bool(load(job.id).progress_current), timeout=60, what="progress")
            engine.dispose()

            database.restart(down_for=2.5)

            terminal = {JobStatus.completed, JobStatus.failed, JobStatus.cancelled}
            wait_for(lambda: load(job.id).status in terminal, timeout=60, what="the job's end")
            done = load(job.id)
    finally:
        engine.dispose()
    assert done.status == JobStatus.completed, (done.error_category, done.error_message)
    assert done.attempts == 1  # went on where it was: no lost lease, no second run
    assert len(executions(job.id)) == 1
