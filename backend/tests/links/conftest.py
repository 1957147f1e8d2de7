"""Fixtures for the backlink tests: an upload directory of the test's own, a project on
https://example.com with its owner, and an in-process run of an import's job body."""

import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import settings
from app.core.db import session_scope
from app.links import service
from app.links.models import LinkImport
from app.projects.models import Project
from app.users.models import User
from tests.builders import auth_headers, create_project, create_user


@pytest.fixture(autouse=True)
def upload_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "uploads"
    monkeypatch.setattr(settings, "LINKS_UPLOAD_DIR", str(directory))
    return directory


@pytest.fixture
def owner(session: Session) -> User:
    return create_user(session)


@pytest.fixture
def project(session: Session, owner: User) -> Project:
    return create_project(session, owner=owner, site_url="https://example.com")


@pytest.fixture
def headers(owner: User) -> dict[str, str]:
    return auth_headers(owner)


def upload(
    client: TestClient,
    project: Project,
    headers: dict[str, str],
    data: bytes,
    name: str = "export.csv",
) -> Any:
    return client.post(
        f"/api/v1/projects/{project.id}/links/import",
        files={"file": (name, data, "text/csv")},
        headers=headers,
    )


def run_import(import_id: uuid.UUID) -> dict[str, Any]:
    """The job's body, in this process (tests of the reading; tests/links/test_worker.py
    runs it on a real worker)."""
    with session_scope() as session:
        link_import = session.get(LinkImport, import_id)
        assert link_import is not None
        assert link_import.job_id is not None
        return service.run_import(
            session=session,
            import_id=import_id,
            job_id=link_import.job_id,
            progress=lambda _done, _total: None,
        )


def import_id_of(job: dict[str, Any]) -> uuid.UUID:
    return uuid.UUID(job["config_json"]["import_id"])


def upload_and_run(
    client: TestClient, project: Project, headers: dict[str, str], data: bytes
) -> tuple[uuid.UUID, dict[str, Any]]:
    response = upload(client, project, headers, data)
    assert response.status_code == 202, response.text
    import_id = import_id_of(response.json())
    return import_id, run_import(import_id)
