"""Revocable login tokens (a password change or reset signs out every older token) and
personal API tokens (hashed, scoped, last use noted, revocable), on the ordinary auth path
and on the job-status poll's own SQL."""

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.core.config import settings
from app.users.models import ApiToken
from tests.builders import DEFAULT_PASSWORD, create_project, create_user
from tests.jobs.rows import insert_job

LOGIN = "/api/v1/login/access-token"


def _login(client: TestClient, email: str, password: str = DEFAULT_PASSWORD) -> dict[str, str]:
    answer = client.post(LOGIN, data={"username": email, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_carry_issued_at_and_version(client: TestClient, session: Session) -> None:
    user = create_user(session)
    token = _login(client, user.email)["Authorization"].split()[1]
    claims = jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])
    assert isinstance(claims["iat"], int)
    assert claims["ver"] == 0


def test_a_password_change_signs_out_every_older_token(
    client: TestClient, session: Session
) -> None:
    user = create_user(session)
    job = insert_job(session, project=create_project(session, owner=user), user=user)
    laptop, phone = _login(client, user.email), _login(client, user.email)

    wrong = client.post(
        "/api/v1/users/me/password",
        json={"current_password": "not-it-at-all", "new_password": "a-new-password"},
        headers=laptop,
    )
    assert wrong.status_code == 400
    short = client.post(
        "/api/v1/users/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": "short"},
        headers=laptop,
    )
    assert short.status_code == 422

    changed = client.post(
        "/api/v1/users/me/password",
        json={"current_password": DEFAULT_PASSWORD, "new_password": "a-new-password"},
        headers=laptop,
    )
    assert changed.status_code == 200
    fresh = _bearer(changed.json()["access_token"])
    for old in (laptop, phone):
        assert client.get("/api/v1/users/me", headers=old).status_code == 401
        assert client.get(f"/api/v1/jobs/{job.id}", headers=old).status_code == 401
    assert client.get("/api/v1/users/me", headers=fresh).status_code == 200
    assert client.get(f"/api/v1/jobs/{job.id}", headers=fresh).status_code == 200
    refused = client.post(LOGIN, data={"username": user.email, "password": DEFAULT_PASSWORD})
    assert refused.status_code == 401
    _login(client, user.email, "a-new-password")


def test_the_cli_reset_signs_out_older_tokens(
    client: TestClient, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.cli import _ensure_first_superuser

    admin = create_user(session, superuser=True)
    before = _login(client, admin.email)
    monkeypatch.setattr(settings, "FIRST_SUPERUSER_PASSWORD", "a-reset-password")
    assert _ensure_first_superuser(email=admin.email, reset_password=True) == 0
    assert client.get("/api/v1/users/me", headers=before).status_code == 401
    after = _login(client, admin.email, "a-reset-password")
    # `up` resets on every start: the same password again signs nobody out.
    assert _ensure_first_superuser(email=admin.email, reset_password=True) == 0
    assert client.get("/api/v1/users/me", headers=after).status_code == 200


def test_personal_api_tokens(client: TestClient, session: Session) -> None:
    user = create_user(session)
    project = create_project(session, owner=user)
    job = insert_job(session, project=project, user=user)
    login = _login(client, user.email)

    made = client.post("/api/v1/users/me/tokens", json={"name": "nightly report"}, headers=login)
    assert made.status_code == 201
    read_token = made.json()["token"]
    assert read_token.startswith("seo_pat_")
    assert made.json()["scope"] == "read"
    assert made.json()["last_used_at"] is None
    # Stored hashed: the table never holds the token.
    stored = session.exec(select(ApiToken)).all()
    assert [row.token_hash for row in stored] != [read_token]
    assert all(read_token not in (row.token_hash, row.prefix) for row in stored)

    reader = _bearer(read_token)
    assert client.get("/api/v1/users/me", headers=reader).json()["id"] == str(user.id)
    assert client.get("/api/v1/projects", headers=reader).json()["count"] == 1
    assert client.get(f"/api/v1/jobs/{job.id}", headers=reader).status_code == 200
    refused = client.post(
        "/api/v1/projects", json={"name": "X", "site_url": "https://x.example"}, headers=reader
    )
    assert refused.status_code == 403
    assert "read-only" in refused.json()["detail"]
    # An API token cannot mint more tokens or change the password.
    assert client.get("/api/v1/users/me/tokens", headers=reader).status_code == 403

    listed = client.get("/api/v1/users/me/tokens", headers=login).json()
    assert listed["count"] == 1
    assert "token" not in listed["data"][0]
    assert listed["data"][0]["last_used_at"] is not None
    assert read_token.startswith(listed["data"][0]["prefix"])

    writer_made = client.post(
        "/api/v1/users/me/tokens", json={"name": "deploy hook", "scope": "write"}, headers=login
    )
    writer = _bearer(writer_made.json()["token"])
    created = client.post(
        "/api/v1/projects", json={"name": "Y", "site_url": "https://y.example"}, headers=writer
    )
    assert created.status_code == 201

    revoked = client.delete(f"/api/v1/users/me/tokens/{made.json()['id']}", headers=login)
    assert revoked.status_code == 204
    assert client.get("/api/v1/users/me", headers=reader).status_code == 401
    assert client.get(f"/api/v1/jobs/{job.id}", headers=reader).status_code == 401
    assert client.get("/api/v1/projects", headers=writer).status_code == 200

    stranger = _login(client, create_user(session).email)
    other = client.delete(f"/api/v1/users/me/tokens/{writer_made.json()['id']}", headers=stranger)
    assert other.status_code == 404
    unknown = _bearer("seo_pat_" + "x" * 43)
    assert client.get("/api/v1/users/me", headers=unknown).status_code == 401
    assert client.get(f"/api/v1/jobs/{job.id}", headers=unknown).status_code == 401


def test_the_status_poll_notes_an_api_token_use(client: TestClient, session: Session) -> None:
    user = create_user(session)
    job = insert_job(session, project=create_project(session, owner=user), user=user)
    login = _login(client, user.email)
    made = client.post("/api/v1/users/me/tokens", json={"name": "poller"}, headers=login).json()
    assert client.get(f"/api/v1/jobs/{job.id}", headers=_bearer(made["token"])).status_code == 200
    listed = client.get("/api/v1/users/me/tokens", headers=login).json()
    assert listed["data"][0]["last_used_at"] is not None
