"""Reading a project's backlinks: filters and sorting, referring domains, top anchors, the
new/lost timeline; and the clean-up of a deleted project's backlinks."""

import os
import time
import uuid
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, func, select

from app.links import service
from app.links.models import Backlink
from app.maintenance import service as maintenance_service
from app.projects import service as projects_service
from app.projects.models import Project
from tests.links.conftest import upload, upload_and_run
from tests.links.exports import AHREFS_HEADER, ahrefs_row, csv_text

API = "/api/v1"


@pytest.fixture
def imported(client: TestClient, project: Project, headers: dict[str, str]) -> None:
    rows = [
        ahrefs_row(
            source="https://www.blog.test/a",
            target="https://example.com/",
            anchor="Best SEO tools",
            nofollow="true",
            dr="10",
            first_seen="2024-01-01",
            last_seen="2024-01-20",
        ),
        ahrefs_row(
            source="https://blog.test/b",
            target="https://example.com/x",
            anchor="best seo tools",
            dr="30",
            first_seen="2024-01-02",
            last_seen="2024-02-01",
            lost="2024-02-05",
        ),
        ahrefs_row(
            source="https://news.test/c",
            target="https://example.com/",
            anchor="Best SEO tools",
            ugc="true",
            dr="",
            first_seen="2024-01-09",
            last_seen="2024-01-10",
        ),
        ahrefs_row(
            source="https://forum.test/d",
            target="https://example.com/",
            anchor="",
            sponsored="true",
            dr="50",
            first_seen="2024-01-09",
            last_seen="2024-03-01",
        ),
    ]
    upload_and_run(client, project, headers, csv_text(AHREFS_HEADER, rows).encode())


def _sources(
    client: TestClient, project: Project, headers: dict[str, str], query: str
) -> list[str]:
    response = client.get(f"{API}/projects/{project.id}/backlinks?{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [row["source_url"] for row in response.json()["data"]]


@pytest.mark.usefixtures("imported")
def test_backlinks_filters_and_sorts(
    client: TestClient, project: Project, headers: dict[str, str]
) -> None:
    everything = client.get(f"{API}/projects/{project.id}/backlinks", headers=headers).json()
    assert everything["count"] == 4
    assert everything["data"][0]["source_url"] == "https://forum.test/d"  # latest last_seen
    assert _sources(client, project, headers, "referring_domain=www.blog.test&sort=source_url") == [
        "https://blog.test/b",
        "https://www.blog.test/a",
    ]
    assert _sources(client, project, headers, "nofollow=true") == ["https://www.blog.test/a"]
    assert _sources(client, project, headers, "ugc=true") == ["https://news.test/c"]
    assert _sources(client, project, headers, "sponsored=true") == ["https://forum.test/d"]
    assert _sources(client, project, headers, "lost=true") == ["https://blog.test/b"]
    assert _sources(client, project, headers, "anchor=SEO&sort=first_seen") == [
        "https://www.blog.test/a",
        "https://blog.test/b",
        "https://news.test/c",
    ]
    assert _sources(client, project, headers, "anchor=100%25") == []  # % is no wildcard
    assert _sources(client, project, headers, "sort=-authority") == [
        "https://forum.test/d",
        "https://blog.test/b",
        "https://www.blog.test/a",
        "https://news.test/c",  # no DR: last
    ]
    page = client.get(
        f"{API}/projects/{project.id}/backlinks?limit=1&offset=1&sort=source_url", headers=headers
    ).json()
    assert ([r["source_url"] for r in page["data"]], page["has_more"]) == (
        ["https://forum.test/d"],
        True,
    )
    too_many = client.get(f"{API}/projects/{project.id}/backlinks?limit=1001", headers=headers)
    assert too_many.status_code == 422
    assert client.get(
        f"{API}/projects/{project.id}/backlinks?limit=1000", headers=headers
    ).is_success


@pytest.mark.usefixtures("imported")
def test_referring_domains_and_top_anchors(
    client: TestClient, project: Project, headers: dict[str, str]
) -> None:
    domains = client.get(
        f"{API}/projects/{project.id}/backlinks/referring-domains", headers=headers
    ).json()
    assert domains["count"] == 3
    assert domains["data"][0] == {
        "domain": "blog.test",
        "links": 2,
        "dofollow_links": 1,
        "lost_links": 1,
        "first_seen": "2024-01-01",
        "last_seen": "2024-02-01",
    }
    assert [d["domain"] for d in domains["data"][1:]] == ["forum.test", "news.test"]
    second = client.get(
        f"{API}/projects/{project.id}/backlinks/referring-domains?limit=1&offset=1",
        headers=headers,
    ).json()
    assert ([d["domain"] for d in second["data"]], second["has_more"]) == (["forum.test"], True)

    anchors = client.get(
        f"{API}/projects/{project.id}/backlinks/anchors?limit=2", headers=headers
    ).json()["data"]
    assert anchors == [
        {"anchor": "Best SEO tools", "links": 2, "referring_domains": 2},
        {"anchor": "", "links": 1, "referring_domains": 1},
    ]


@pytest.mark.usefixtures("imported")
def test_the_timeline_of_new_and_lost_links(
    client: TestClient, project: Project, headers: dict[str, str]
) -> None:
    base = f"{API}/projects/{project.id}/backlinks/timeline"
    daily = client.get(f"{base}?start=2024-01-01&end=2024-01-10", headers=headers).json()
    assert daily["interval"] == "day"
    assert len(daily["data"]) == 10
    by_day = {p["start"]: (p["new"], p["lost"]) for p in daily["data"] if p["new"] or p["lost"]}
    assert by_day == {"2024-01-01": (1, 0), "2024-01-02": (1, 0), "2024-01-09": (2, 0)}
    weekly = client.get(
        f"{base}?start=2024-01-01&end=2024-02-11&interval=week", headers=headers
    ).json()
    by_week = {p["start"]: (p["new"], p["lost"]) for p in weekly["data"]}
    assert by_week["2024-01-01"] == (2, 0)  # a Monday
    assert by_week["2024-01-08"] == (2, 0)
    assert by_week["2024-02-05"] == (0, 1)
    assert len(weekly["data"]) == 6
    for query in ("start=2024-02-01&end=2024-01-01", "start=2020-01-01&end=2024-01-01"):
        assert client.get(f"{base}?{query}", headers=headers).status_code == 422
    assert client.get(base, headers=headers).json()["start"] < date.today().isoformat()


@pytest.mark.usefixtures("imported")
def test_a_deleted_projects_backlinks_go_in_the_clean_up(
    session: Session, project: Project
) -> None:
    def remaining() -> int:
        return session.exec(select(func.count()).select_from(Backlink)).one()

    assert remaining() == 4
    projects_service.delete_project(session=session, project=project)
    assert (
        session.exec(select(func.count()).where(col(Backlink.project_id) == project.id)).one() == 4
    )  # no foreign key: left for the clean-up
    deleted = maintenance_service.cleanup_old_data(session=session)
    assert deleted["orphan_backlinks"] == 4
    assert remaining() == 0


def test_uploads_left_behind_go_in_the_clean_up(
    client: TestClient,
    session: Session,
    project: Project,
    headers: dict[str, str],
    upload_dir: Path,
) -> None:
    data = csv_text(
        AHREFS_HEADER, [ahrefs_row(source="https://a.test/", target="https://example.com/")]
    )
    response = upload(client, project, headers, data.encode())  # queued: active
    active = next(upload_dir.iterdir())
    left = upload_dir / f"{uuid.uuid4()}.upload"
    partial = upload_dir / "0f0f.part"
    fresh = upload_dir / "1e1e.part"
    for path in (left, partial, fresh):
        path.write_bytes(b"x")
    old = time.time() - service.STALE_UPLOAD_SECONDS - 60
    for path in (active, left, partial):
        os.utime(path, (old, old))
    deleted = maintenance_service.cleanup_old_data(session=session)
    assert deleted["stale_link_uploads"] == 2
    assert sorted(p.name for p in upload_dir.iterdir()) == sorted([active.name, fresh.name])
    assert response.status_code == 202
