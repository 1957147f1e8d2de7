"""The Ads API: the connection (write-only secrets), its test, starting a sync, the reads,
validation and access."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, delete, select

from app.ads import service
from app.connections.models import ProviderConnection
from app.core.db import utcnow
from app.jobs.models import JobRun, JobStatus
from app.projects.models import Project
from app.users.models import User
from tests.ads.conftest import (
    ACCOUNT,
    CUSTOMER,
    DEVELOPER_TOKEN,
    MANAGER,
    TEST_ONLY_TOKEN,
    connect,
    sync,
)
from tests.builders import auth_headers, create_user
from tests.fakes.google_ads import AdsState

BASE = "/api/v1/projects/{}/ads"


def _body(credential: dict[str, str], **overrides: Any) -> dict[str, Any]:
    return {
        "customer_id": "123-456-7890",
        "developer_token": DEVELOPER_TOKEN,
        "credentials": credential,
        **overrides,
    }


def test_connect_read_and_remove_never_showing_secrets(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    ads: AdsState,
    credential: dict[str, str],
) -> None:
    url, headers = BASE.format(project.id) + "/connection", auth_headers(owner)
    saved = client.put(url, json=_body(credential, login_customer_id=MANAGER), headers=headers)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["provider"] == "google_ads"
    assert body["target"] == "123-456-7890"
    assert body["settings"] == {"login_customer_id": "987-654-3210"}
    assert body["account"].startswith("OAuth client ")
    assert set(body) == {"provider", "target", "account", "settings", "connected_at", "updated_at"}

    read = client.get(url, headers=headers)
    assert read.json() == body
    for response in (saved, read):
        for secret in (DEVELOPER_TOKEN, credential["refresh_token"], credential["client_secret"]):
            assert secret not in response.text
    row = session.exec(select(ProviderConnection)).one()
    assert DEVELOPER_TOKEN.encode() not in row.secret
    assert credential["refresh_token"].encode() not in row.secret

    digits = client.put(url, json=_body(credential, customer_id="1234567890"), headers=headers)
    assert (digits.json()["target"], digits.json()["settings"]) == (
        "123-456-7890",
        {"login_customer_id": None},
    )

    assert client.delete(url, headers=headers).status_code == 204
    gone = client.get(url, headers=headers)
    assert (gone.status_code, gone.json()) == (404, {"detail": "Google Ads is not connected"})
    assert client.delete(url, headers=headers).status_code == 404


@pytest.mark.parametrize(
    "overrides",
    [
        {"customer_id": "12345"},
        {"customer_id": "123-4567-890"},
        {"customer_id": "12345678901"},
        {"customer_id": "abc-def-ghij"},
        {"login_customer_id": "98-765-43210"},
        {"developer_token": ""},
        {"developer_token": "x" * 200},
        {"developer_token": "t\u00f8ken"},
        {"developer_token": "two words"},
        {"customer_id": "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660"},
        {"credentials": {"hello": "world"}},
        {
            "credentials": {
                "client_id": "a",
                "client_secret": "b",
                "refresh_token": "c",
                "token_uri": "https://evil.example/token",
            }
        },
    ],
)
def test_bad_connections_are_422(
    client: TestClient,
    owner: User,
    project: Project,
    credential: dict[str, str],
    overrides: dict[str, Any],
) -> None:
    response = client.put(
        BASE.format(project.id) + "/connection",
        json=_body(credential, **overrides),
        headers=auth_headers(owner),
    )
    assert response.status_code == 422, response.text
    assert "detail" in response.json()


def test_other_users_projects_answer_404(
    client: TestClient,
    session: Session,
    project: Project,
    ads: AdsState,
    credential: dict[str, str],
) -> None:
    connect(session, project, credential)
    stranger = auth_headers(create_user(session))
    base = BASE.format(project.id)
    for method, path, json in (
        ("PUT", "/connection", _body(credential)),
        ("GET", "/connection", None),
        ("DELETE", "/connection", None),
        ("POST", "/connection/test", None),
        ("POST", "/sync", None),
        ("GET", "/campaigns", None),
        ("GET", "/metrics", None),
    ):
        response = client.request(method, base + path, json=json, headers=stranger)
        assert (response.status_code, response.json()) == (404, {"detail": "Project not found"}), (
            path
        )
    assert client.get(base + "/connection").status_code == 401


def test_the_test_connection_lists_what_the_credential_reaches(
    client: TestClient, owner: User, project: Project, ads: AdsState, credential: dict[str, str]
) -> None:
    url, headers = BASE.format(project.id) + "/connection/test", auth_headers(owner)
    ok = client.post(url, json=_body(credential), headers=headers)
    assert ok.status_code == 200, ok.text
    assert ok.json()["ok"] is True
    assert "123-456-7890" in ok.json()["detail"]
    assert ok.json()["choices"] == ["123-456-7890"]

    ads.add_customer("5555555555", manager=MANAGER)
    ads.grant(ACCOUNT, MANAGER)
    through_manager = client.post(
        url,
        json=_body(credential, customer_id="5555555555", login_customer_id=MANAGER),
        headers=headers,
    ).json()
    assert through_manager["ok"] is True
    assert "manager account 987-654-3210" in through_manager["detail"]

    missing = client.post(url, json=_body(credential, customer_id="111-222-3333"), headers=headers)
    assert missing.status_code == 200
    assert missing.json()["ok"] is False
    assert missing.json()["choices"] == ["123-456-7890", "987-654-3210"]
    assert "cannot reach customer 111-222-3333" in missing.json()["detail"]

    refused = client.post(
        url, json=_body(credential, developer_token="unknown-token"), headers=headers
    )
    assert refused.status_code == 200
    assert refused.json()["ok"] is False
    assert "developer token" in refused.json()["detail"]

    bad = client.post(url, json=_body(credential, customer_id="12"), headers=headers)
    assert bad.status_code == 422


def test_the_test_connection_of_the_stored_connection(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    fake: Any,
    ads: AdsState,
    credential: dict[str, str],
) -> None:
    url, headers = BASE.format(project.id) + "/connection/test", auth_headers(owner)
    assert client.post(url, headers=headers).status_code == 404
    connect(session, project, credential)
    assert client.post(url, headers=headers).json()["ok"] is True
    fake.revoke(credential)
    revoked = client.post(url, headers=headers).json()
    assert revoked["ok"] is False
    assert "reconnect the account" in revoked["detail"]


def test_starting_a_sync(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    ads: AdsState,
    credential: dict[str, str],
) -> None:
    url, headers = BASE.format(project.id) + "/sync", auth_headers(owner)
    not_connected = client.post(url, headers=headers)
    assert not_connected.status_code == 409
    assert "Google Ads is not connected" in not_connected.json()["detail"]

    connect(session, project, credential, developer_token=TEST_ONLY_TOKEN)
    started = client.post(url, json={"days": 30}, headers=headers)
    assert started.status_code == 202, started.text
    job = started.json()
    assert (job["job_type"], job["status"], job["project_id"]) == (
        "ads_sync",
        "queued",
        str(project.id),
    )
    assert (job["config_json"], job["queue"]) == ({"days": 30}, "default")
    again = client.post(url, headers=headers)
    assert again.status_code == 202
    assert again.headers["X-Job-Existing"] == "true"
    assert again.json()["id"] == job["id"]
    for days in (0, 91, "many"):
        assert client.post(url, json={"days": days}, headers=headers).status_code == 422


def test_the_reads_answer_the_documented_shapes(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    ads: AdsState,
    credential: dict[str, str],
) -> None:
    headers = auth_headers(owner)
    base = BASE.format(project.id)
    assert client.get(base + "/campaigns", headers=headers).status_code == 404
    connect(session, project, credential)
    today = utcnow().date()
    sync(session, project, days=40, today=today)

    campaigns = client.get(base + "/campaigns", headers=headers)
    assert campaigns.status_code == 200, campaigns.text
    body = campaigns.json()
    assert set(body) >= {"data", "count", "totals", "currency"}
    assert (body["count"], body["currency"]) == (3, "EUR")
    assert set(body["data"][0]) == {
        "campaign_id",
        "name",
        "status",
        "impressions",
        "clicks",
        "cost",
        "conversions",
        "conversions_value",
        "ctr",
        "cpc",
    }
    assert set(body["totals"]) == {
        "impressions",
        "clicks",
        "cost",
        "conversions",
        "conversions_value",
        "ctr",
        "cpc",
    }
    assert isinstance(body["data"][0]["campaign_id"], str)
    assert body["totals"]["clicks"] == sum(row["clicks"] for row in body["data"])

    metrics = client.get(base + "/metrics", headers=headers).json()
    assert set(metrics) == {"daily", "totals", "currency"}
    assert len(metrics["daily"]) == 30  # the last 30 days by default
    assert metrics["daily"][-1]["date"] == today.isoformat()
    assert set(metrics["daily"][0]) == {
        "date",
        "impressions",
        "clicks",
        "cost",
        "conversions",
        "conversions_value",
    }
    assert metrics["totals"] == body["totals"]

    start = (today - timedelta(days=6)).isoformat()
    week = client.get(
        base + "/metrics",
        params={"start": start, "end": today.isoformat(), "campaign_id": 111},
        headers=headers,
    ).json()
    assert len(week["daily"]) == 7
    page = client.get(
        base + "/campaigns", params={"sort": "name", "order": "asc", "limit": 2}, headers=headers
    )
    assert [row["name"] for row in page.json()["data"]] == [
        "Brand | Search",
        "Display | Remarketing",
    ]
    assert page.json()["has_more"] is True


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/metrics", {"start": "2026-11-10", "end": "2026-11-01"}),
        ("/metrics", {"start": "2020-01-01", "end": "2026-11-01"}),
        ("/metrics", {"start": "yesterday"}),
        ("/metrics", {"end": "0001-01-05"}),
        ("/metrics", {"campaign_id": 0}),
        ("/metrics", {"campaign_id": 2**63}),
        ("/campaigns", {"sort": "secret"}),
        ("/campaigns", {"order": "sideways"}),
        ("/campaigns", {"limit": 100_000}),
        ("/campaigns", {"start": "2026-11-10", "end": "2026-11-01"}),
    ],
)
def test_bad_reads_are_422(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    ads: AdsState,
    credential: dict[str, str],
    path: str,
    params: dict[str, Any],
) -> None:
    connect(session, project, credential)
    response = client.get(
        BASE.format(project.id) + path, params=params, headers=auth_headers(owner)
    )
    assert response.status_code == 422, response.text


def test_a_customer_id_is_shown_formatted_and_used_as_digits(
    client: TestClient, session: Session, owner: User, project: Project, credential: dict[str, str]
) -> None:
    client.put(
        BASE.format(project.id) + "/connection",
        json=_body(credential, customer_id=" 123-456-7890 "),
        headers=auth_headers(owner),
    )
    row = session.exec(select(ProviderConnection)).one()
    assert row.target == "123-456-7890"
    assert service.stored_access(row)[1] == CUSTOMER


def test_an_odd_but_valid_credential_is_shown_within_bounds(
    client: TestClient, owner: User, project: Project, credential: dict[str, str]
) -> None:
    odd = {**credential, "client_id": "a\u0000b" + "c" * 509}
    response = client.put(
        BASE.format(project.id) + "/connection",
        json=_body(credential, credentials=odd),
        headers=auth_headers(owner),
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["account"]) == 512
    assert "\u0000" not in response.json()["account"]


def test_connecting_an_account_with_nothing_stored_starts_its_first_sync(
    client: TestClient,
    session: Session,
    owner: User,
    project: Project,
    ads: AdsState,
    credential: dict[str, str],
) -> None:
    url, headers = BASE.format(project.id) + "/connection", auth_headers(owner)

    def jobs() -> list[JobRun]:
        session.expire_all()
        return list(session.exec(select(JobRun).where(col(JobRun.job_type) == "ads_sync")).all())

    assert client.put(url, json=_body(credential), headers=headers).status_code == 200
    (first,) = jobs()
    assert (first.status, first.project_id, first.config_json) == (
        JobStatus.queued,
        project.id,
        {"days": None},
    )
    client.put(url, json=_body(credential), headers=headers)
    assert [job.id for job in jobs()] == [first.id]  # the active sync, not a second

    session.exec(delete(JobRun))  # type: ignore[call-overload]
    session.commit()
    sync(session, project, today=utcnow().date())
    client.put(url, json=_body(credential), headers=headers)
    assert jobs() == []  # the account's backfill is there: the daily sync carries on
