"""Input that passes validation but not the database still gets a 4xx with a message."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.builders import auth_headers, create_user


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("post", "/api/v1/projects", {"json": {"name": "a\x00b", "site_url": "https://x.test"}}),
        ("patch", "/api/v1/users/me", {"json": {"full_name": "a\x00b"}}),
        (
            "post",
            "/api/v1/users/signup",
            {"json": {"email": "nul@example.com", "password": "pass\x00word", "full_name": "\x00"}},
        ),
        (
            "post",
            "/api/v1/login/access-token",
            {"data": {"username": "a\x00@example.com", "password": "pass\x00word"}},
        ),
    ],
)
def test_nul_characters_are_422(
    client: TestClient, session: Session, method: str, path: str, payload: dict[str, object]
) -> None:
    headers = auth_headers(create_user(session))
    response = getattr(client, method)(path, headers=headers, **payload)
    assert response.status_code == 422, response.text
    assert "NUL" in response.json()["detail"]
