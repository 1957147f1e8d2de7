"""The rank-tracking API: shapes, the bulk report, write-only credentials, jobs, 404s for
other people's projects and keywords, and 422s for bad input."""

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.config import settings
from app.core.db import utcnow
from app.serp.models import CheckStatus, SerpSnapshot
from tests.builders import auth_headers, create_project, create_user
from tests.fakes.dataforseo import FakeDataForSeo
from tests.fakes.serpapi import FakeSerpApi
from tests.serp.conftest import add_keywords

API = "/api/v1"
SHOES = {"text": "  Running   Shoes ", "country": "us", "language": "EN", "device": "mobile"}


@pytest.fixture
def owner(session: Session) -> tuple[str, dict[str, str]]:
    user = create_user(session)
    project = create_project(session, owner=user, site_url="https://example.com")
    return str(project.id), auth_headers(user)


def test_add_one_keyword_normalized_then_a_duplicate_is_refused(
    client: TestClient, owner: tuple[str, dict[str, str]]
) -> None:
    project_id, headers = owner
    added = client.post(f"{API}/projects/{project_id}/keywords", json=SHOES, headers=headers)
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["added"] == 1
    assert body["rejected"] == []
    keyword = body["data"][0]
    assert (keyword["text"], keyword["country"], keyword["language"], keyword["device"]) == (
        "Running Shoes",
        "US",
        "en",
        "mobile",
    )
    assert (keyword["status"], keyword["position"], keyword["checked_at"]) == (
        "pending",
        None,
        None,
    )
    again = client.post(
        f"{API}/projects/{project_id}/keywords",
        json={**SHOES, "text": "running shoes"},
        headers=headers,
    )
    assert again.status_code == 409
    assert "duplicate" in again.json()["detail"]
    # Another device or location is another keyword.
    other = client.post(
        f"{API}/projects/{project_id}/keywords",
        json={**SHOES, "location": "Austin,Texas,United States"},
        headers=headers,
    )
    assert other.status_code == 201


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"country": "UK"}, "use GB"),
        ({"country": "XX"}, "ISO 3166-1"),
        ({"language": "xx"}, "ISO 639-1"),
        ({"device": "tablet"}, "device"),
        ({"text": "x" * 201}, "longer than 200"),
        ({"text": "   "}, "empty"),
        ({"tags": ["t"] * 21}, "tags"),
    ],
)
def test_bad_keywords_are_422(
    client: TestClient, owner: tuple[str, dict[str, str]], change: dict[str, object], fragment: str
) -> None:
    project_id, headers = owner
    response = client.post(
        f"{API}/projects/{project_id}/keywords", json={**SHOES, **change}, headers=headers
    )
    assert response.status_code == 422
    assert fragment in response.text


def test_a_list_reports_duplicates_and_the_cap(
    client: TestClient, owner: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    project_id, headers = owner
    monkeypatch.setattr(settings, "MAX_KEYWORDS_PER_PROJECT", 3)
    items = [
        {**SHOES, "text": "a"},
        {**SHOES, "text": "A"},
        {**SHOES, "text": "b"},
        {**SHOES, "text": "c"},
        {**SHOES, "text": "d"},
    ]
    response = client.post(f"{API}/projects/{project_id}/keywords", json=items, headers=headers)
    assert response.status_code == 201
    body = response.json()
    assert body["added"] == 3
    assert [(r["line"], r["reason"]) for r in body["rejected"]] == [
        (2, "duplicate of line 1"),
        (5, "over the cap of 3 keywords per project"),
    ]


def test_bulk_lines_and_csv_with_a_per_line_report(
    client: TestClient, owner: tuple[str, dict[str, str]]
) -> None:
    project_id, headers = owner
    lines = "running shoes\n\ntrail shoes\nRunning  shoes\n" + "y" * 300 + "\n"
    pasted = client.post(
        f"{API}/projects/{project_id}/keywords/bulk",
        data={"lines": lines, "country": "US", "language": "en", "tags": "shoes|core"},
        headers=headers,
    )
    assert pasted.status_code == 200, pasted.text
    report = pasted.json()
    assert report["added"] == 2
    assert [(r["line"], r["reason"]) for r in report["rejected"]] == [
        (4, "duplicate of line 1"),
        (5, "the keyword is longer than 200 characters"),
    ]
    assert report["data"][0]["tags"] == ["shoes", "core"]
    csv_file = (
        b"keyword,country,language,device,tags\n"
        b"running shoes,US,en,desktop,shoes\n"  # already tracked
        b"laufschuhe,DE,de,mobile,shoes;de\n"
        b"chaussures,UK,fr,desktop,\n"
        b"zapatillas,ES,es,phone,\n"
        b",US,en,desktop,\n"
        b'"trail, running",US,en,desktop,\n'
    )
    uploaded = client.post(
        f"{API}/projects/{project_id}/keywords/bulk",
        files={"file": ("keywords.csv", csv_file, "text/csv")},
        headers=headers,
    )
    assert uploaded.status_code == 200, uploaded.text
    report = uploaded.json()
    assert report["added"] == 2
    reasons = {r["line"]: r["reason"] for r in report["rejected"]}
    assert reasons[2] == "duplicate (already tracked)"
    assert "use GB" in reasons[4]
    assert "device" in reasons[5]
    assert "empty" in reasons[6]
    listed = client.get(
        f"{API}/projects/{project_id}/keywords?tag=de&device=mobile&country=de", headers=headers
    ).json()
    assert [k["text"] for k in listed["data"]] == ["laufschuhe"]
    assert listed["data"][0]["tags"] == ["shoes", "de"]


def test_bulk_needs_exactly_one_input_and_bounds_its_size(
    client: TestClient, owner: tuple[str, dict[str, str]]
) -> None:
    project_id, headers = owner
    url = f"{API}/projects/{project_id}/keywords/bulk"
    assert client.post(url, data={"country": "US"}, headers=headers).status_code == 422
    big = b"keyword\n" + b"k\n" * 600_000
    response = client.post(url, files={"file": ("k.csv", big, "text/csv")}, headers=headers)
    assert response.status_code == 413


def test_list_history_visibility_and_delete(
    client: TestClient, session: Session, owner: tuple[str, dict[str, str]]
) -> None:
    project_id, headers = owner
    from app.projects.models import Project

    project = session.get(Project, project_id)
    assert project is not None
    first, second = add_keywords(session, project, ["alpha", "beta"])
    today = utcnow().date()
    for keyword, positions in ((first, (2, 5)), (second, (40, None))):
        for days_ago, position in enumerate(positions):
            session.add(
                SerpSnapshot(
                    keyword_id=keyword.id,
                    project_id=project.id,
                    checked_on=today - dt.timedelta(days=days_ago),
                    checked_at=utcnow(),
                    status=CheckStatus.ranked if position else CheckStatus.not_in_top_n,
                    position=position,
                    url="https://example.com/" if position else None,
                    depth=100,
                    provider="serpapi",
                    top_results=[{"position": 1, "url": "https://a.org/", "title": "A"}],
                )
            )
    first.position, first.status, first.best_position = 2, CheckStatus.ranked, 2
    session.add(first)
    session.commit()

    listed = client.get(
        f"{API}/projects/{project_id}/keywords?sort=position&order=asc&limit=1", headers=headers
    )
    assert listed.status_code == 200
    body = listed.json()
    assert (body["count"], body["has_more"]) == (2, True)
    row = body["data"][0]
    assert (row["text"], row["position"], row["change_1d"], row["best_position"]) == (
        "alpha",
        2,
        3,
        2,
    )
    history = client.get(f"{API}/keywords/{first.id}/history", headers=headers).json()
    assert [(d["date"], d["position"], d["status"]) for d in history["data"]] == [
        ((today - dt.timedelta(days=1)).isoformat(), 5, "ranked"),
        (today.isoformat(), 2, "ranked"),
    ]
    assert history["data"][0]["top_results"][0] == {
        "position": 1,
        "url": "https://a.org/",
        "title": "A",
    }
    seen = client.get(f"{API}/projects/{project_id}/serp/visibility", headers=headers).json()
    days = {d["date"]: d for d in seen["data"]}
    assert days[today.isoformat()] == {
        "date": today.isoformat(),
        "keywords": 2,
        "top3": 0.5,
        "top10": 0.5,
        "top100": 1.0,
    }
    assert days[(today - dt.timedelta(days=1)).isoformat()]["top100"] == 0.5
    bad = client.get(
        f"{API}/projects/{project_id}/serp/visibility?start=2026-02-01&end=2026-01-01",
        headers=headers,
    )
    assert bad.status_code == 422
    assert (
        client.get(f"{API}/projects/{project_id}/keywords?sort=nope", headers=headers).status_code
        == 422
    )

    deleted = client.delete(f"{API}/projects/{project_id}/keywords/{first.id}", headers=headers)
    assert deleted.status_code == 204
    assert client.get(f"{API}/keywords/{first.id}/history", headers=headers).status_code == 404


def test_the_connection_is_write_only_and_tested_for_free(
    client: TestClient,
    owner: tuple[str, dict[str, str]],
    serpapi: FakeSerpApi,
    dataforseo: FakeDataForSeo,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    project_id, headers = owner
    url = f"{API}/projects/{project_id}/serp/connection"
    monkeypatch.setattr(settings, "SERPAPI_BASE_URL", serpapi.url)
    monkeypatch.setattr(settings, "DATAFORSEO_BASE_URL", dataforseo.url)
    assert client.get(url, headers=headers).status_code == 404
    assert client.post(f"{url}/test", headers=headers).status_code == 404
    # Values are tested before they are saved (nothing is stored by a test).
    serpapi.searches_left = 55
    candidate = {"provider": "serpapi", "api_key": serpapi.api_key}
    before_saving = client.post(f"{url}/test", json=candidate, headers=headers).json()
    assert before_saving["ok"] is True, before_saving
    assert "55 searches left" in before_saving["detail"]
    wrong = client.post(
        f"{url}/test", json={**candidate, "api_key": "not-the-key"}, headers=headers
    ).json()
    assert wrong["ok"] is False
    refused = client.post(
        f"{url}/test",
        json={"provider": "dataforseo", "login": dataforseo.login, "password": "wrong"},
        headers=headers,
    ).json()
    assert refused["ok"] is False
    assert client.get(url, headers=headers).status_code == 404
    assert (
        client.put(url, json={"provider": "bing", "api_key": "x" * 10}, headers=headers).status_code
        == 422
    )
    assert (
        client.put(url, json={"provider": "dataforseo", "login": "a"}, headers=headers).status_code
        == 422
    )

    saved = client.put(
        url, json={"provider": "serpapi", "api_key": serpapi.api_key}, headers=headers
    )
    assert saved.status_code == 200, saved.text
    assert serpapi.api_key not in saved.text
    shown = client.get(url, headers=headers)
    assert shown.json()["target"] == "serpapi"
    assert serpapi.api_key not in shown.text
    serpapi.searches_left = 777
    tested = client.post(f"{url}/test", headers=headers).json()
    assert tested["ok"] is True
    assert "777 searches left" in tested["detail"]
    assert not serpapi.calls("/search.json")  # the account check is free

    client.put(
        url,
        json={"provider": "dataforseo", "login": dataforseo.login, "password": "wrong"},
        headers=headers,
    )
    tested = client.post(f"{url}/test", headers=headers).json()
    assert tested["ok"] is False
    assert "refused" in tested["detail"]
    assert client.delete(url, headers=headers).status_code == 204
    assert client.delete(url, headers=headers).status_code == 404


def test_refresh_jobs_start_and_need_a_connection(
    client: TestClient, session: Session, owner: tuple[str, dict[str, str]]
) -> None:
    project_id, headers = owner
    refresh_url = f"{API}/projects/{project_id}/serp/refresh"
    assert client.post(refresh_url, headers=headers).status_code == 409
    client.put(
        f"{API}/projects/{project_id}/serp/connection",
        json={"provider": "serpapi", "api_key": "serpapi-key-123"},
        headers=headers,
    )
    started = client.post(refresh_url, headers=headers)
    assert started.status_code == 202
    job = started.json()
    assert (job["job_type"], job["status"], job["project_id"]) == (
        "serp_refresh",
        "queued",
        project_id,
    )
    again = client.post(refresh_url, headers=headers)
    assert again.json()["id"] == job["id"]
    assert again.headers["X-Job-Existing"] == "true"
    keyword = client.post(f"{API}/projects/{project_id}/keywords", json=SHOES, headers=headers)
    keyword_id = keyword.json()["data"][0]["id"]
    one = client.post(f"{API}/keywords/{keyword_id}/refresh", headers=headers)
    assert one.status_code == 202
    assert one.json()["id"] != job["id"]


def test_other_users_projects_and_keywords_are_404(
    client: TestClient, session: Session, owner: tuple[str, dict[str, str]]
) -> None:
    project_id, headers = owner
    keyword = client.post(f"{API}/projects/{project_id}/keywords", json=SHOES, headers=headers)
    keyword_id = keyword.json()["data"][0]["id"]
    stranger = auth_headers(create_user(session))
    for method, path in [
        ("get", f"/projects/{project_id}/keywords"),
        ("post", f"/projects/{project_id}/serp/refresh"),
        ("get", f"/projects/{project_id}/serp/connection"),
        ("get", f"/projects/{project_id}/serp/visibility"),
        ("delete", f"/projects/{project_id}/keywords/{keyword_id}"),
        ("get", f"/keywords/{keyword_id}/history"),
        ("post", f"/keywords/{keyword_id}/refresh"),
    ]:
        response = client.request(method, f"{API}{path}", headers=stranger)
        assert response.status_code == 404, (method, path, response.status_code)
    added = client.post(f"{API}/projects/{project_id}/keywords", json=SHOES, headers=stranger)
    assert added.status_code == 404
