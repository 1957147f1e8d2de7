"""The Search Console API: connection (write-only), test, sync/backfill starts, and the data
reads with their shapes, filters, bounds and access rules."""

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.core.db import session_scope
from app.jobs.models import JobRun
from tests.builders import auth_headers, create_project, create_user
from tests.fakes.google import FakeGoogle
from tests.fakes.gsc import GscState
from tests.gsc.conftest import DOMAIN_PROPERTY, PREFIX_PROPERTY, TODAY, connect

API = "/api/v1"
YESTERDAY = TODAY - dt.timedelta(days=1)


def _base(project_id: object) -> str:
    return f"{API}/projects/{project_id}/gsc"


def test_connection_is_saved_validated_and_never_returned(
    client: TestClient, session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    owner = create_user(session)
    project = create_project(session, owner=owner)
    headers = auth_headers(owner)
    base = _base(project.id)
    credential = fake.service_account("reader@p.iam.gserviceaccount.com")

    missing = client.get(f"{base}/connection", headers=headers)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Search Console is not connected"}

    for bad_property in ("example.com", "https://www.example.com", "ftp://x.com/", "sc-domain:"):
        answer = client.put(
            f"{base}/connection",
            json={"property": bad_property, "credentials": credential},
            headers=headers,
        )
        assert answer.status_code == 422, bad_property
    bad = client.put(
        f"{base}/connection",
        json={"property": DOMAIN_PROPERTY, "credentials": {"type": "service_account"}},
        headers=headers,
    )
    assert bad.status_code == 422
    assert "client_email" in bad.json()["detail"]

    saved = client.put(
        f"{base}/connection",
        json={"property": PREFIX_PROPERTY, "credentials": credential},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["target"] == PREFIX_PROPERTY  # the exact URL prefix, trailing slash kept
    assert body["account"] == "reader@p.iam.gserviceaccount.com"
    shown = client.get(f"{base}/connection", headers=headers)
    assert shown.json() == body
    text = saved.text + shown.text
    assert "PRIVATE KEY" not in text
    assert credential["private_key_id"] not in text

    other = auth_headers(create_user(session))
    assert client.get(f"{base}/connection", headers=other).status_code == 404
    assert client.delete(f"{base}/connection", headers=other).status_code == 404
    assert client.delete(f"{base}/connection", headers=headers).status_code == 204
    assert client.get(f"{base}/connection", headers=headers).status_code == 404


def test_test_connection_shows_the_level_or_what_the_credential_sees(
    client: TestClient, session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    headers = auth_headers(connected.owner)
    base = _base(connected.project.id)
    stored = client.post(f"{base}/connection/test", headers=headers)
    assert stored.status_code == 200
    assert stored.json()["ok"] is True
    assert "siteOwner" in stored.json()["detail"]

    credential = fake.service_account("other@p.iam.gserviceaccount.com")
    gsc.grant("other@p.iam.gserviceaccount.com", PREFIX_PROPERTY, "siteFullUser")
    gsc.grant("other@p.iam.gserviceaccount.com", "sc-domain:unverified.com", "siteUnverifiedUser")
    missing = client.post(
        f"{base}/connection/test",
        json={"property": DOMAIN_PROPERTY, "credentials": credential},
        headers=headers,
    ).json()
    assert missing["ok"] is False
    assert "not among" in missing["detail"]
    assert missing["choices"] == [PREFIX_PROPERTY, "sc-domain:unverified.com"]
    unverified = client.post(
        f"{base}/connection/test",
        json={"property": "sc-domain:unverified.com", "credentials": credential},
        headers=headers,
    ).json()
    assert unverified["ok"] is False
    assert "siteUnverifiedUser" in unverified["detail"]

    fake.revoke(credential)
    revoked = client.post(
        f"{base}/connection/test",
        json={"property": PREFIX_PROPERTY, "credentials": credential},
        headers=headers,
    )
    assert revoked.status_code == 200
    assert revoked.json()["ok"] is False
    assert "invalid_grant" in revoked.json()["detail"]
    half = client.post(
        f"{base}/connection/test", json={"property": PREFIX_PROPERTY}, headers=headers
    )
    assert half.status_code == 422


def test_sync_and_backfill_start_jobs_once_per_project(
    client: TestClient, session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    owner = create_user(session)
    bare = create_project(session, owner=owner)
    headers = auth_headers(owner)
    not_connected = client.post(f"{_base(bare.id)}/sync", headers=headers)
    assert not_connected.status_code == 409
    assert not_connected.json()["detail"] == "Search Console is not connected"

    connected = connect(session, fake, gsc, owner=owner)
    base = _base(connected.project.id)
    first = client.post(f"{base}/sync", headers=headers)
    assert first.status_code == 202, first.text
    assert first.json()["job_type"] == "gsc_sync"
    again = client.post(f"{base}/sync", headers=headers)
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["X-Job-Existing"] == "true"

    for days in (0, 487):
        assert (
            client.post(f"{base}/backfill", json={"days": days}, headers=headers).status_code == 422
        )
    backfill = client.post(f"{base}/backfill", json={"days": 30}, headers=headers)
    assert backfill.status_code == 202
    with session_scope() as s:
        job = s.get(JobRun, backfill.json()["id"])
        assert job is not None
        assert job.config_json["days"] == 30
    default = client.post(f"{base}/backfill", headers=headers)
    assert default.json()["id"] == backfill.json()["id"]
    other = auth_headers(create_user(session))
    assert client.post(f"{base}/sync", headers=other).status_code == 404


def _synced(session: Session, fake: FakeGoogle, gsc: GscState) -> Any:
    connected = connect(session, fake, gsc)
    connected.backfill(
        {"days": 56, "end": YESTERDAY.isoformat(), "since": dt.datetime.now(dt.UTC).isoformat()}
    )
    return connected


def test_metrics_answer_the_daily_series_with_the_previous_period(
    client: TestClient, session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    gsc.first_incomplete = YESTERDAY
    connected = _synced(session, fake, gsc)
    headers = auth_headers(connected.owner)
    base = _base(connected.project.id)
    answer = client.get(f"{base}/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["start"], body["end"]) == (
        (YESTERDAY - dt.timedelta(days=27)).isoformat(),
        YESTERDAY.isoformat(),
    )
    assert len(body["daily"]) == 28
    assert len(body["previous"]["daily"]) == 28
    assert body["previous"]["end"] == (YESTERDAY - dt.timedelta(days=28)).isoformat()
    assert [p["provisional"] for p in body["daily"]] == [False] * 27 + [True]
    point = body["daily"][0]
    assert set(point) == {"date", "clicks", "impressions", "ctr", "position", "provisional"}
    day = dt.date.fromisoformat(point["date"])
    totals = gsc.totals(DOMAIN_PROPERTY, day)
    assert point["clicks"] == sum(t["clicks"] for t in totals)
    assert point["impressions"] == sum(t["impressions"] for t in totals)
    assert abs(point["ctr"] - point["clicks"] / point["impressions"]) < 1e-9
    assert body["totals"]["clicks"] == sum(p["clicks"] for p in body["daily"])

    usa = client.get(f"{base}/metrics?country=usa&device=MOBILE", headers=headers).json()
    first_usa = usa["daily"][0]
    usa_totals = [t for t in totals if t["keys"][1:] == ["usa", "MOBILE"]]
    assert first_usa["clicks"] == sum(t["clicks"] for t in usa_totals)

    for query in (
        "start=2026-11-10&end=2026-11-01",  # start after end
        "start=2024-01-01&end=2026-11-01",  # beyond 16 months
        "country=US",
        "device=PHONE",
        "type=shopping",
    ):
        assert client.get(f"{base}/metrics?{query}", headers=headers).status_code == 422, query
    other = auth_headers(create_user(session))
    assert client.get(f"{base}/metrics", headers=other).status_code == 404


def test_top_queries_and_pages_sort_filter_and_page(
    client: TestClient, session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = _synced(session, fake, gsc)
    headers = auth_headers(connected.owner)
    base = _base(connected.project.id)
    start, end = YESTERDAY - dt.timedelta(days=6), YESTERDAY
    expected: dict[str, list[int]] = {}
    for n in range(7):
        for row in gsc.rows(DOMAIN_PROPERTY, start + dt.timedelta(days=n)):
            sums = expected.setdefault(row["keys"][1], [0, 0])
            sums[0] += row["clicks"]
            sums[1] += row["impressions"]
    answer = client.get(f"{base}/queries?start={start}&end={end}&limit=2", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["count"] == len(expected)
    assert len(body["data"]) == 2
    top = body["data"][0]
    assert set(top) == {"query", "clicks", "impressions", "ctr", "position"}
    assert [top["clicks"], top["impressions"]] == expected[top["query"]]
    assert top["clicks"] == max(v[0] for v in expected.values())

    ascending = client.get(
        f"{base}/queries?start={start}&end={end}&sort=impressions&order=asc&limit=1000",
        headers=headers,
    ).json()["data"]
    assert [r["impressions"] for r in ascending] == sorted(v[1] for v in expected.values())
    paged = client.get(
        f"{base}/queries?start={start}&end={end}&sort=impressions&order=asc&limit=1&offset=1",
        headers=headers,
    ).json()["data"]
    assert paged == ascending[1:2]

    found = client.get(f"{base}/queries?start={start}&end={end}&search=AUDIT", headers=headers)
    assert {r["query"] for r in found.json()["data"]} == {q for q in expected if "audit" in q}
    none = client.get(f"{base}/queries?start={start}&end={end}&search=%25_", headers=headers)
    assert none.json() == {"data": [], "count": 0}

    pages = client.get(
        f"{base}/pages?start={start}&end={end}&device=TABLET&sort=ctr", headers=headers
    ).json()
    assert pages["count"] >= 1
    assert all(r["page"].startswith("https://example.com/") for r in pages["data"])
    ctrs = [r["ctr"] for r in pages["data"]]
    assert ctrs == sorted(ctrs, reverse=True)

    query = top["query"]
    series = client.get(
        f"{base}/queries/series", params={"query": query, "start": start, "end": end},
        headers=headers,
    ).json()  # fmt: skip
    assert len(series["daily"]) == 7
    assert sum(p["clicks"] for p in series["daily"]) == expected[query][0]
    page = pages["data"][0]["page"]
    page_series = client.get(f"{base}/pages/series", params={"page": page}, headers=headers).json()
    assert len(page_series["daily"]) == 28
    assert client.get(f"{base}/queries?limit=1001", headers=headers).status_code == 422
    assert client.get(f"{base}/queries?sort=name", headers=headers).status_code == 422
    assert client.get(f"{base}/queries/series", headers=headers).status_code == 422


def test_hostile_input_is_refused_not_a_server_error(
    client: TestClient, session: Session, fake: FakeGoogle, gsc: GscState
) -> None:
    connected = connect(session, fake, gsc)
    headers = auth_headers(connected.owner)
    base = _base(connected.project.id)
    oauth = {**fake.oauth_client(), "client_id": "x" * 512}
    for body in (
        {"property": "https://www.example.com/\x00/", "credentials": fake.oauth_client()},
        {"property": "sc-domain:exa mple.com", "credentials": fake.oauth_client()},
        {"property": DOMAIN_PROPERTY, "credentials": oauth},
        {"property": DOMAIN_PROPERTY, "credentials": {**fake.oauth_client(), "client_id": "a\x00"}},
    ):
        assert client.put(f"{base}/connection", json=body, headers=headers).status_code == 422
    for path in (
        "queries?search=%00",
        "queries/series?query=a%00b",
        "metrics?start=0001-01-01&end=0001-01-02",
        "metrics?end=0001-01-01",
    ):
        assert client.get(f"{base}/{path}", headers=headers).status_code == 422, path
