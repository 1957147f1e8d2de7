"""Audit routes over stored audits: summary, filters, grouped issues, diff, CSV, access and
bad input. (The whole pipeline through the API is in test_audit_pipeline.py.)"""

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.audits import storage
from app.audits.checks.site_checks import run_site_checks
from app.audits.models import AuditRun, AuditStatus
from app.audits.page import CrawledPage
from app.core.db import utcnow
from app.projects.models import Project
from app.users.models import User
from tests.audits.pages import SITE, good_page
from tests.builders import auth_headers, create_project, create_user


def _audit(session: Session, project: Project, pages: list, *, days_ago: int = 0) -> AuditRun:  # type: ignore[type-arg]
    audit = AuditRun(
        project_id=project.id,
        status=AuditStatus.completed,
        started_at=utcnow() - timedelta(days=days_ago),
        config_json={"start_url": f"{SITE}/"},
        stats_json={"crawl": {"robots_txt_found": True, "sitemaps_fetched": ["x"]}},
        score=80,
    )
    session.add(audit)
    session.commit()
    storage.store_pages(session=session, audit_id=audit.id, pages=pages)
    run_site_checks(session=session, audit_id=audit.id)
    session.commit()
    return audit


def _owner(session: Session) -> tuple[User, Project, dict[str, str]]:
    user = create_user(session)
    project = create_project(session, owner=user, site_url=SITE)
    return user, project, auth_headers(user)


def test_summary_pages_filters_and_grouped_issues(client: TestClient, session: Session) -> None:
    _, project, headers = _owner(session)
    pages = [
        good_page(f"{SITE}/ok"),
        good_page(f"{SITE}/no-title", titles=[]),
        good_page(f"{SITE}/missing", status_code=404, final_status_code=404),
        *[good_page(f"{SITE}/thin-{i}", word_count=10) for i in range(5)],
    ]
    audit = _audit(session, project, pages)

    summary = client.get(f"/api/v1/audits/{audit.id}", headers=headers).json()
    assert summary["pages_total"] == 8
    assert summary["pages_by_status"] == {"2xx": 7, "4xx": 1}
    assert summary["issues_by_code"]["thin_content"] == 5
    assert summary["issues_by_severity"]["error"] == 2  # title_missing, http_4xx

    def urls(**params: object) -> list[str]:
        response = client.get(f"/api/v1/audits/{audit.id}/pages", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return [page["url"] for page in response.json()["data"]]

    assert urls(status="4xx") == [f"{SITE}/missing"]
    assert urls(status="404") == [f"{SITE}/missing"]
    assert urls(status="1xx") == []  # every class the pattern allows is a filter, not a 500
    assert urls(issue_code="title_missing") == [f"{SITE}/no-title"]
    assert urls(url_contains="THIN", limit=2, offset=1) == [f"{SITE}/thin-1", f"{SITE}/thin-2"]
    assert urls(url_contains="%") == []  # a literal, not a wildcard
    assert len(urls(url_contains="\x00thin")) == 5

    groups = client.get(
        f"/api/v1/audits/{audit.id}/issues",
        headers=headers,
        params={"urls_limit": 2, "urls_offset": 2},
    ).json()["data"]
    assert [g["severity"] for g in groups] == sorted(
        (g["severity"] for g in groups), key=["error", "warning", "notice"].index
    )
    thin = next(g for g in groups if g["code"] == "thin_content")
    assert thin["count"] == 5
    assert [u["url"] for u in thin["urls"]] == [f"{SITE}/thin-2", f"{SITE}/thin-3"]
    assert thin["how_to_fix"]
    assert thin["urls"][0]["details"] == {"word_count": 10}

    listing = client.get(f"/api/v1/projects/{project.id}/audits", headers=headers).json()
    assert listing["count"] == 1
    assert listing["data"][0]["id"] == str(audit.id)


def test_headline_counts_pages_and_resources_apart(client: TestClient, session: Session) -> None:
    """ "Pages crawled" counts pages; images and other resources are counted and listed
    apart, and every figure equals the pages table filtered the same way."""
    _, project, headers = _owner(session)
    image = CrawledPage(
        url=f"{SITE}/logo.png", depth=1, status_code=200, content_type="image/png", is_resource=True
    )
    gone = CrawledPage(
        url=f"{SITE}/gone.png", depth=1, status_code=404, content_type="image/png", is_resource=True
    )
    pages = [good_page(f"{SITE}/a"), good_page(f"{SITE}/b", status_code=404), image, gone]
    audit = _audit(session, project, pages)
    summary = client.get(f"/api/v1/audits/{audit.id}", headers=headers).json()
    assert (summary["pages_total"], summary["resources_total"]) == (2, 2)
    assert summary["pages_by_status"] == {"2xx": 1, "4xx": 1}
    assert summary["resources_by_status"] == {"2xx": 1, "4xx": 1}

    def count(**params: object) -> int:
        response = client.get(f"/api/v1/audits/{audit.id}/pages", headers=headers, params=params)
        assert response.status_code == 200, response.text
        return int(response.json()["count"])

    assert count(kind="page") == summary["pages_total"]
    assert count(kind="resource") == summary["resources_total"]
    for bucket, pages_in_bucket in summary["pages_by_status"].items():
        assert count(kind="page", status=bucket) == pages_in_bucket
    assert (
        client.get(
            f"/api/v1/audits/{audit.id}/pages", headers=headers, params={"kind": "image"}
        ).status_code
        == 422
    )


def test_diff_against_the_previous_completed_audit(client: TestClient, session: Session) -> None:
    _, project, headers = _owner(session)
    before = _audit(
        session,
        project,
        [good_page(f"{SITE}/a", titles=[]), good_page(f"{SITE}/b", h1=[], heading_levels=[2])],
        days_ago=7,
    )
    after = _audit(
        session,
        project,
        [
            good_page(f"{SITE}/a"),
            good_page(f"{SITE}/b", h1=[], heading_levels=[2]),
            good_page(f"{SITE}/c", lang=None),
        ],
    )
    diff = client.get(f"/api/v1/audits/{after.id}/diff", headers=headers).json()
    assert diff["previous_audit_id"] == str(before.id)

    def codes(kind: str) -> dict[str, list[str]]:
        return {entry["code"]: entry["urls"] for entry in diff[kind]}

    # /c is new, and missing from the sitemap the audit read, as an indexable page.
    assert codes("new") == {
        "lang_missing": [f"{SITE}/c"],
        "sitemap_missing_indexable": [f"{SITE}/c"],
    }
    assert codes("fixed") == {"title_missing": [f"{SITE}/a"]}
    assert codes("persisting")["h1_missing"] == [f"{SITE}/b"]

    first = client.get(f"/api/v1/audits/{before.id}/diff", headers=headers).json()
    assert first["previous_audit_id"] is None
    assert first["fixed"] == []
    assert {entry["code"] for entry in first["new"]} >= {"title_missing", "h1_missing"}


def test_csv_exports_stream_every_row(client: TestClient, session: Session) -> None:
    _, project, headers = _owner(session)
    audit = _audit(session, project, [good_page(f"{SITE}/p{i}", word_count=5) for i in range(1500)])
    pages_csv = client.get(f"/api/v1/audits/{audit.id}/pages.csv", headers=headers)
    assert pages_csv.status_code == 200
    lines = pages_csv.text.strip().splitlines()
    assert len(lines) == 1501
    assert lines[0].startswith("url,status_code")
    issues_csv = client.get(f"/api/v1/audits/{audit.id}/issues.csv", headers=headers)
    # thin_content and sitemap_missing_indexable on each
    assert len(issues_csv.text.strip().splitlines()) == 3001


def test_access_and_bad_input(client: TestClient, session: Session) -> None:
    _, project, headers = _owner(session)
    audit = _audit(session, project, [good_page()])
    stranger = auth_headers(create_user(session))
    base = f"/api/v1/audits/{audit.id}"
    for path in ("", "/pages", "/issues", "/diff", "/pages.csv", "/issues.csv"):
        response = client.get(base + path, headers=stranger)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Audit not found"}
    assert client.get(f"/api/v1/projects/{project.id}/audits", headers=stranger).status_code == 404
    assert client.post(f"/api/v1/projects/{project.id}/audits", headers=stranger).status_code == 404
    assert client.get(f"/api/v1/audits/{uuid.uuid4()}", headers=headers).status_code == 404
    assert client.get("/api/v1/audits/not-a-uuid", headers=headers).status_code == 422
    for params in (
        {"status": "teapot"},
        {"issue_code": "no_such_check"},
        {"limit": 0},
        {"limit": 100_000},
        {"offset": -1},
    ):
        response = client.get(f"{base}/pages", headers=headers, params=params)
        assert response.status_code == 422, params
        assert "detail" in response.json()
    assert (
        client.get(f"{base}/issues", headers=headers, params={"severity": "fatal"}).status_code
        == 422
    )
    assert client.get(base).status_code == 401


def test_the_check_catalogue(client: TestClient, session: Session) -> None:
    _, _, headers = _owner(session)
    catalogue = client.get("/api/v1/audits/checks", headers=headers).json()
    assert catalogue["count"] >= 55
    codes = {check["code"] for check in catalogue["data"]}
    assert {"title_missing", "orphan_page", "rendered_only_content"} <= codes


def test_csv_cells_from_the_site_never_start_a_formula(
    client: TestClient, session: Session
) -> None:
    import csv
    import io

    _, project, headers = _owner(session)
    planted = {
        "=title": dict(titles=['=HYPERLINK("http://evil.example","x")']),
        "+description": dict(meta_descriptions=["+cmd|' /C calc'!A0"]),
        "-h1": dict(h1=["-2+3"]),
        "@h1": dict(h1=["@SUM(1+1)*cmd|' /C calc'!A0"]),
        "tab-h1": dict(h1=["\t=1+1"]),
        "cr-h1": dict(h1=["\r=1+1"]),
        "fullwidth": dict(h1=["\uff1d1+1"]),
        "plain": dict(titles=["A title with = - + @ inside", "x"], h1=["Plain"]),
    }
    pages = [good_page(f"{SITE}/{name}", **changes) for name, changes in planted.items()]
    audit = _audit(session, project, pages)
    response = client.get(f"/api/v1/audits/{audit.id}/pages.csv", headers=headers)
    rows = {row["url"]: row for row in csv.DictReader(io.StringIO(response.text, newline=""))}
    assert rows[f"{SITE}/=title"]["title"] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows[f"{SITE}/+description"]["meta_description"] == "'+cmd|' /C calc'!A0"
    assert rows[f"{SITE}/-h1"]["h1"] == "'-2+3"
    assert rows[f"{SITE}/@h1"]["h1"].startswith("'@SUM")
    assert rows[f"{SITE}/tab-h1"]["h1"] == "'\t=1+1"
    assert rows[f"{SITE}/cr-h1"]["h1"] == "'\r=1+1"
    assert rows[f"{SITE}/fullwidth"]["h1"] == "'\uff1d1+1"
    assert rows[f"{SITE}/plain"]["title"] == "A title with = - + @ inside"
    assert rows[f"{SITE}/plain"]["h1"] == "Plain"
    for row in rows.values():
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
    issues = client.get(f"/api/v1/audits/{audit.id}/issues.csv", headers=headers)
    for row in csv.reader(io.StringIO(issues.text, newline="")):
        for value in row:
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row
