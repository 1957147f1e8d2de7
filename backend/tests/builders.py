"""Builders for test data, so tests state only what matters to them."""

import uuid

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.security import create_access_token
from app.projects import service as projects_service
from app.projects.models import Project, ProjectCreate
from app.users import service as users_service
from app.users.models import User, UserCreate

DEFAULT_PASSWORD = "correct-horse-battery"


def create_user(session: Session, *, email: str | None = None, superuser: bool = False) -> User:
    return users_service.create_user(
        session=session,
        user_in=UserCreate(
            email=email or f"user-{uuid.uuid4().hex[:10]}@example.com", password=DEFAULT_PASSWORD
        ),
        is_superuser=superuser,
    )


def create_project(
    session: Session, *, owner: User, site_url: str = "https://example.com", **fields: object
) -> Project:
    return projects_service.create_project(
        session=session,
        owner=owner,
        project_in=ProjectCreate.model_validate(
            {"name": "Example", "site_url": site_url, **fields}
        ),
    )


def auth_headers(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_access_token(str(user.id))}"}


def signup_and_login(
    client: TestClient, email: str, password: str = DEFAULT_PASSWORD
) -> dict[str, str]:
    response = client.post("/api/v1/users/signup", json={"email": email, "password": password})
    assert response.status_code == 201, response.text
    token = client.post(
        "/api/v1/login/access-token", data={"username": email, "password": password}
    ).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}
