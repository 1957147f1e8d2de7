"""One visibility rule (app.projects.visibility) on every read path of every domain: a row of
another user's project answers 404 (like one that does not exist) or is left out of lists
and counts; its owner and a superuser see it."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.audits.models import AuditRun, AuditStatus
from app.jobs.models import JobStatus
from app.users.models import User
from tests.builders import auth_headers, create_project, create_user
from tests.jobs.rows import insert_job

API = "/api/v1"


@dataclass(frozen=True)
class World:
    owner: User
    stranger: User
    admin: User
    project_id: uuid.UUID
    job_id: uuid.UUID
    system_job_id: uuid.UUID
    audit_id: uuid.UUID


@pytest.fixture
def world(session: Session) -> World:
    owner, stranger = create_user(session), create_user(session)
    admin = create_user(session, superuser=True)
    project = create_project(session, owner=owner)
    # The stranger owns a project too: owning *a* project must not open anyone else's.
    create_project(session, owner=stranger, site_url="https://stranger.example")
    job = insert_job(session, project=project, status=JobStatus.failed)
    system_job = insert_job(session, project=None, user=owner, job_type="maintenance")
    audit = AuditRun(project_id=project.id, job_id=job.id, status=AuditStatus.completed)
    session.add(audit)
    session.commit()
    return World(owner, stranger, admin, project.id, job.id, system_job.id, audit.id)


# Every read of one row, by domain: (name, path from the world).
SINGLE_READS: list[tuple[str, Callable[[World], str]]] = [
    ("project", lambda w: f"/projects/{w.project_id}"),
    ("job status", lambda w: f"/jobs/{w.job_id}"),
    ("project's jobs", lambda w: f"/jobs/project/{w.project_id}"),
    ("jobs of a project filter", lambda w: f"/jobs?project_id={w.project_id}"),
    ("stats of a project filter", lambda w: f"/jobs/stats?project_id={w.project_id}"),
    ("project's audits", lambda w: f"/projects/{w.project_id}/audits"),
    ("audit", lambda w: f"/audits/{w.audit_id}"),
    ("audit pages", lambda w: f"/audits/{w.audit_id}/pages"),
    ("audit issues", lambda w: f"/audits/{w.audit_id}/issues"),
    ("audit diff", lambda w: f"/audits/{w.audit_id}/diff"),
    ("audit pages CSV", lambda w: f"/audits/{w.audit_id}/pages.csv"),
    ("audit issues CSV", lambda w: f"/audits/{w.audit_id}/issues.csv"),
]
# Writes that load a job through the same rule before acting (404 before any change).
JOB_ACTIONS = ["cancel", "retry"]


@pytest.mark.parametrize(("name", "path"), SINGLE_READS, ids=[n for n, _ in SINGLE_READS])
def test_single_reads_follow_the_project(
    client: TestClient, world: World, name: str, path: Callable[[World], str]
) -> None:
    url = API + path(world)
    assert client.get(url, headers=auth_headers(world.owner)).status_code == 200, name
    assert client.get(url, headers=auth_headers(world.stranger)).status_code == 404, name
    assert client.get(url, headers=auth_headers(world.admin)).status_code == 200, name


@pytest.mark.parametrize("action", JOB_ACTIONS)
def test_job_actions_follow_the_project(client: TestClient, world: World, action: str) -> None:
    url = f"{API}/jobs/{world.job_id}/{action}"
    assert client.post(url, headers=auth_headers(world.stranger)).status_code == 404


def test_a_job_without_a_project_is_for_superusers(client: TestClient, world: World) -> None:
    url = f"{API}/jobs/{world.system_job_id}"
    assert client.get(url, headers=auth_headers(world.owner)).status_code == 404
    assert client.get(url, headers=auth_headers(world.admin)).status_code == 200


def test_lists_and_counts_follow_the_project(client: TestClient, world: World) -> None:
    def listed(path: str, user: User) -> set[str]:
        response = client.get(API + path, headers=auth_headers(user))
        assert response.status_code == 200, path
        body = response.json()
        assert body["count"] == len(body["data"])
        return {row["id"] for row in body["data"]}

    both_jobs = {str(world.job_id), str(world.system_job_id)}
    assert listed("/jobs", world.owner) == {str(world.job_id)}
    assert listed("/jobs", world.stranger) == set()
    assert listed("/jobs", world.admin) == both_jobs
    assert listed("/jobs?status=failed", world.stranger) == set()
    assert listed("/projects", world.owner) == {str(world.project_id)}
    assert str(world.project_id) not in listed("/projects", world.stranger)
    assert str(world.project_id) in listed("/projects", world.admin)
    assert len(listed("/projects", world.admin)) == 2

    def stats_total(user: User) -> int:
        response = client.get(f"{API}/jobs/stats", headers=auth_headers(user))
        assert response.status_code == 200
        return int(response.json()["total"])

    assert stats_total(world.owner) == 1
    assert stats_total(world.stranger) == 0
    assert stats_total(world.admin) == 2
