"""Adding a job domain touches only its folder and one line of DOMAINS: the example domain
(this folder) gets its task loaded and routed, its Beat entry scheduled, its route mounted
and its job type declared, with no other module edited."""

import importlib
import sys
import uuid
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from app.core.celery_app import celery_app
from app.core.db import session_scope
from app.core.domains import (
    DOMAINS,
    beat_schedule,
    declared_domains,
    job_types,
    task_modules,
    task_routes,
)
from app.jobs.models import JobRun, JobStatus
from tests.builders import auth_headers, create_project, create_user
from tests.core.processes import free_port, running, wait_for_http
from tests.jobs.conftest import wait_for, wait_terminal
from tests.workers import celery_worker

WITH_EXAMPLE = (*DOMAINS, "tests.example_domain")
TASKS = "tests.example_domain.tasks"


def test_the_platform_collects_what_the_example_declares() -> None:
    declared = declared_domains(WITH_EXAMPLE)
    assert task_modules(declared)[-1] == TASKS
    assert task_routes(declared)[f"{TASKS}.count_words"] == {"queue": "low"}
    schedule = beat_schedule(declared)
    assert schedule["example-nightly"]["task"] == f"{TASKS}.start_nightly_count"
    assert job_types(declared)["example"].entry_tasks == (f"{TASKS}.count_words",)
    # What a worker loads registers every scheduled task, the example's included.
    for module in task_modules(declared):
        importlib.import_module(module)
    assert {spec["task"] for spec in schedule.values()} <= set(celery_app.tasks)


def _nightly_job() -> JobRun | None:
    with session_scope() as session:
        return session.exec(
            select(JobRun).where(JobRun.job_type == "example", col(JobRun.project_id).is_(None))
        ).first()


@pytest.mark.slow
def test_the_example_runs_from_its_route_and_its_schedule(session: Session, tmp_path: Path) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)
    headers = auth_headers(owner)
    port = free_port()
    api = [
        *(sys.executable, "-m", "uvicorn", "--factory", "tests.example_domain.platform:create_api"),
        *("--host", "127.0.0.1", "--port", str(port)),
    ]
    base = f"http://127.0.0.1:{port}/api/v1"
    include = f"tests.example_domain.platform,{TASKS}"
    with (
        celery_worker(queues="default,low", include=include, concurrency=1),
        running(api, log_path=tmp_path / "api.log") as api_process,
    ):
        wait_for_http(f"{base}/health", status=200, timeout=120, child=api_process)

        started = httpx.post(
            f"{base}/projects/{project.id}/word-count",
            json={"text": "one two three"},
            headers=headers,
            timeout=10,
        )
        assert started.status_code == 202, started.text
        job = started.json()
        assert (job["job_type"], job["queue"]) == ("example", "low")  # its declared queue
        done = wait_terminal(uuid.UUID(job["id"]), timeout=30)
        assert (done.status, done.result_json) == (JobStatus.completed, {"words": 3})

        document = httpx.get(f"{base}/openapi.json", timeout=10).json()
        assert "example" in document["components"]["schemas"]["JobType"]["enum"]
        listed = httpx.get(f"{base}/jobs?job_type=example", headers=headers, timeout=10).json()
        assert [row["id"] for row in listed["data"]] == [job["id"]]

        # Beat publishes the entry's task by name; the worker knows it.
        entry = beat_schedule(declared_domains(WITH_EXAMPLE))["example-nightly"]
        celery_app.send_task(entry["task"], **entry["options"])
        wait_for(lambda: _nightly_job() is not None, timeout=30, what="the nightly job")
        nightly = _nightly_job()
        assert nightly is not None
        assert wait_terminal(nightly.id, timeout=30).result_json == {"words": 3}
