"""Operator limits are ceilings, and per-user quotas answer 429 with a message."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.audits.service import audit_config
from app.core.config import settings
from tests.builders import auth_headers, create_project, create_user


def test_a_project_cannot_ask_for_more_than_the_operator_allows(session: Session) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)
    # Rows written before the ceilings (or under a higher MAX_*) are clamped when audited.
    project.max_crawl_pages, project.max_crawl_depth = 100_000, 100
    config = audit_config(project=project)
    assert config["max_pages"] == settings.MAX_CRAWL_PAGES
    assert config["max_depth"] == settings.MAX_CRAWL_DEPTH
    assert config["max_render_pages"] == settings.MAX_RENDER_PAGES

    project.max_crawl_pages, project.max_crawl_depth = 7, 2
    assert (
        audit_config(project=project)["max_pages"],
        audit_config(project=project)["max_depth"],
    ) == (7, 2)


def test_the_api_refuses_limits_above_the_ceilings(client: TestClient, session: Session) -> None:
    headers = auth_headers(create_user(session))
    above = client.post(
        "/api/v1/projects",
        json={"name": "Big", "site_url": "https://big.example", "max_crawl_pages": 100_000},
        headers=headers,
    )
    assert above.status_code == 422
    assert f"at most {settings.MAX_CRAWL_PAGES}" in above.json()["detail"]

    created = client.post(
        "/api/v1/projects", json={"name": "Ok", "site_url": "https://ok.example"}, headers=headers
    )
    assert created.status_code == 201
    deeper = client.patch(
        f"/api/v1/projects/{created.json()['id']}",
        json={"max_crawl_depth": settings.MAX_CRAWL_DEPTH + 1},
        headers=headers,
    )
    assert deeper.status_code == 422
    assert "max_crawl_depth" in deeper.json()["detail"]


def test_projects_per_user_quota(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_PROJECTS_PER_USER", 2)
    headers = auth_headers(create_user(session))
    for n in range(2):
        made = client.post(
            "/api/v1/projects",
            json={"name": f"P{n}", "site_url": f"https://p{n}.example"},
            headers=headers,
        )
        assert made.status_code == 201
    third = client.post(
        "/api/v1/projects", json={"name": "P3", "site_url": "https://p3.example"}, headers=headers
    )
    assert third.status_code == 429
    assert "(2)" in third.json()["detail"]

    admin = auth_headers(create_user(session, superuser=True))
    for n in range(3):
        made = client.post(
            "/api/v1/projects",
            json={"name": f"A{n}", "site_url": f"https://a{n}.example"},
            headers=admin,
        )
        assert made.status_code == 201


def test_active_jobs_per_user_quota(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(settings, "MAX_ACTIVE_JOBS_PER_USER", 2)
    owner = create_user(session)
    headers = auth_headers(owner)
    projects = [
        create_project(session, owner=owner, site_url=f"https://s{n}.example") for n in range(3)
    ]
    first = client.post(f"/api/v1/projects/{projects[0].id}/audits", headers=headers)
    second = client.post(f"/api/v1/projects/{projects[1].id}/audits", headers=headers)
    assert (first.status_code, second.status_code) == (202, 202)

    third = client.post(f"/api/v1/projects/{projects[2].id}/audits", headers=headers)
    assert third.status_code == 429
    assert "active jobs" in third.json()["detail"]

    # Starting an audit that is already active returns it: no new job, so no quota needed.
    again = client.post(f"/api/v1/projects/{projects[0].id}/audits", headers=headers)
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]

    cancelled = client.post(f"/api/v1/jobs/{first.json()['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200
    freed = client.post(f"/api/v1/projects/{projects[2].id}/audits", headers=headers)
    assert freed.status_code == 202
