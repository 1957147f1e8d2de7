from fastapi.testclient import TestClient

from tests.builders import signup_and_login


def test_signup_login_and_me(client: TestClient) -> None:
    headers = signup_and_login(client, "Alice@Example.com")
    me = client.get("/api/v1/users/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["email"] == "alice@example.com"
    assert me.json()["is_superuser"] is False


def test_duplicate_email_is_409_with_message(client: TestClient) -> None:
    signup_and_login(client, "bob@example.com")
    again = client.post(
        "/api/v1/users/signup", json={"email": "BOB@example.com", "password": "another-password"}
    )
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]


def test_bad_credentials_are_401(client: TestClient) -> None:
    signup_and_login(client, "carol@example.com")
    wrong = client.post(
        "/api/v1/login/access-token",
        data={"username": "carol@example.com", "password": "nope-nope"},
    )
    assert wrong.status_code == 401
    unknown = client.post(
        "/api/v1/login/access-token", data={"username": "who@example.com", "password": "whatever1"}
    )
    assert unknown.status_code == 401


def test_weak_input_is_422(client: TestClient) -> None:
    short = client.post(
        "/api/v1/users/signup", json={"email": "d@example.com", "password": "short"}
    )
    assert short.status_code == 422
    bad_email = client.post(
        "/api/v1/users/signup", json={"email": "not-an-email", "password": "long-enough-pw"}
    )
    assert bad_email.status_code == 422


def test_me_needs_a_valid_token(client: TestClient) -> None:
    assert client.get("/api/v1/users/me").status_code == 401
    bad = client.get("/api/v1/users/me", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401


def test_passwords_are_stored_as_argon2_hashes(client: TestClient, session) -> None:  # type: ignore[no-untyped-def]
    from app.users.service import get_user_by_email

    signup_and_login(client, "erin@example.com")
    user = get_user_by_email(session=session, email="erin@example.com")
    assert user is not None
    assert user.hashed_password.startswith("$argon2")


def test_first_superuser_is_created_once(session) -> None:  # type: ignore[no-untyped-def]
    from app.users.service import ensure_first_superuser

    first = ensure_first_superuser(
        session=session, email="root@example.com", password="root-password"
    )
    second = ensure_first_superuser(
        session=session, email="root@example.com", password="other-password"
    )
    assert first.id == second.id
    assert first.is_superuser
