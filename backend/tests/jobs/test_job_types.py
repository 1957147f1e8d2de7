"""GET /jobs/types: the job types the dashboard offers, startable only when a task runs them."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.jobs import dispatch
from app.jobs.models import declared_job_types
from tests.builders import auth_headers, create_user
from tests.core.test_domains import DECLARED_JOB_TYPES

API = "/api/v1/jobs/types"


def _types(client: TestClient, session: Session) -> dict[str, dict[str, object]]:
    response = client.get(API, headers=auth_headers(create_user(session)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == len(body["data"])
    return {row["job_type"]: row for row in body["data"]}


def test_every_declared_type_is_listed_with_its_label(client: TestClient, session: Session) -> None:
    types = _types(client, session)
    assert list(types) == list(declared_job_types())
    assert list(types) == DECLARED_JOB_TYPES
    assert types["gsc_sync"]["label"] == "Search Console sync"
    assert types["serp_refresh"]["label"] == "Rank refresh"
    assert types["audit"] == {"job_type": "audit", "label": "Audit", "startable": True}
    assert types["maintenance"] == {
        "job_type": "maintenance",
        "label": "Maintenance",
        "startable": True,
    }


def test_a_type_is_startable_only_while_its_domain_registers_a_task(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _types(client, session)["audit"]["startable"] is True
    without_audits = {key: task for key, task in dispatch._stage_tasks.items() if key[0] != "audit"}
    monkeypatch.setattr(dispatch, "_stage_tasks", without_audits)
    assert _types(client, session)["audit"]["startable"] is False


def test_needs_a_signed_in_user(client: TestClient) -> None:
    assert client.get(API).status_code == 401
