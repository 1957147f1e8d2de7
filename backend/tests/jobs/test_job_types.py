"""GET /jobs/types: the job types the dashboard offers, startable only when a task runs them."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.jobs import dispatch
from app.jobs.models import JobType
from app.jobs.tasks import rescue_stalled_jobs
from tests.builders import auth_headers, create_user

API = "/api/v1/jobs/types"


def _types(client: TestClient, session: Session) -> dict[str, dict[str, object]]:
    response = client.get(API, headers=auth_headers(create_user(session)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    return {row["job_type"]: row for row in body["data"]}


def test_every_type_is_listed_and_only_the_built_ones_are_startable(
    client: TestClient, session: Session
) -> None:
    types = _types(client, session)
    assert list(types) == [t.value for t in JobType]
    assert types["audit"] == {"job_type": "audit", "label": "Audit", "startable": True}
    assert types["maintenance"]["startable"] is True
    # Not built yet: no task registered for any of their stages.
    for job_type in ("gsc_sync", "gsc_backfill", "serp_refresh", "links_ingest", "ads_sync"):
        assert types[job_type]["startable"] is False, job_type
        assert types[job_type]["label"]


def test_a_type_becomes_startable_when_its_domain_registers_a_task(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _types(client, session)["gsc_sync"]["startable"] is False
    monkeypatch.setitem(
        dispatch._stage_tasks,
        (JobType.gsc_sync, "sync"),
        dispatch.StageTask(task=rescue_stalled_jobs),
    )
    assert _types(client, session)["gsc_sync"]["startable"] is True


def test_needs_a_signed_in_user(client: TestClient) -> None:
    assert client.get(API).status_code == 401
