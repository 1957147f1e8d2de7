"""Uploading exports and importing them: each format end to end through the API and the
job's body (run in this process; test_worker.py runs it on a real worker), the report, the
merge across imports, and the refusals (unknown header 422, size 413, others' imports 404)."""

import asyncio
import codecs
import uuid
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.core.config import settings
from app.jobs.models import JobRun
from app.links import ingest, routes, service
from app.links.models import Backlink, LinkImport
from app.projects.models import Project
from tests.builders import auth_headers, create_project, create_user
from tests.links.conftest import run_import, upload, upload_and_run
from tests.links.exports import (
    AHREFS_HEADER,
    GSC_LINKS_HEADER,
    GSC_TOP_LINKING_SITES_HEADER,
    MAJESTIC_HEADER,
    SEMRUSH_HEADER,
    ahrefs_row,
    ahrefs_utf16,
    csv_text,
    majestic_row,
    semrush_row,
)

API = "/api/v1"


def _backlinks(session: Session, project: Project) -> list[Backlink]:
    session.expire_all()
    return list(
        session.exec(
            select(Backlink)
            .where(col(Backlink.project_id) == project.id)
            .order_by(col(Backlink.source_url))
        ).all()
    )


def test_ahrefs_utf16_with_quoted_newlines_imports_through_the_api(
    client: TestClient,
    session: Session,
    project: Project,
    headers: dict[str, str],
    upload_dir: Path,
) -> None:
    rows = [
        ahrefs_row(
            source="https://blog.test/post",
            target="https://example.com/guide",
            anchor="the guide\nin two lines",
            title='A "quoted"\ttitle',
            nofollow="true",
            lost="2024-04-02 00:00:00",
        ),
        ahrefs_row(source="https://www.news.test/a", target="https://www.example.com/", dr="80"),
    ]
    response = upload(client, project, headers, ahrefs_utf16(rows), name="ahrefs.csv")
    assert response.status_code == 202, response.text
    job = response.json()
    assert (job["job_type"], job["queue"], job["status"]) == ("links_ingest", "low", "queued")
    import_id = uuid.UUID(job["config_json"]["import_id"])
    assert [p.name for p in upload_dir.iterdir()] == [f"{import_id}.upload"]

    from tests.links.conftest import run_import

    result = run_import(import_id)
    assert result["rows"] == 2
    assert (result["accepted"], result["rejected"], result["new"]) == (2, 0, 2)

    stored = _backlinks(session, project)
    assert [(b.referring_domain, b.anchor, b.nofollow, b.lost) for b in stored] == [
        ("blog.test", "the guide\nin two lines", True, True),
        ("news.test", "an anchor", False, False),
    ]
    assert stored[0].source_title == 'A "quoted"\ttitle'
    assert (stored[0].first_seen, stored[0].last_seen, stored[0].lost_on) == (
        date(2024, 1, 31),
        date(2024, 3, 1),
        date(2024, 4, 2),
    )
    assert stored[1].authority == 80

    report = client.get(f"{API}/links/imports/{import_id}", headers=headers).json()
    assert report["format"] == "ahrefs"
    assert report["format_label"] == "Ahrefs"
    assert report["authority_metric"] == "Domain rating"
    assert report["encoding"] == "utf-16-le"
    assert report["file_name"] == "ahrefs.csv"
    assert (report["rows"], report["accepted"], report["rejected"]) == (2, 2, 0)
    assert report["finished_at"] is not None
    history = client.get(f"{API}/projects/{project.id}/links/imports", headers=headers).json()
    assert [row["id"] for row in history["data"]] == [str(import_id)]


def test_older_utf8_ahrefs_semrush_and_majestic(
    client: TestClient, session: Session, project: Project, headers: dict[str, str]
) -> None:
    ahrefs = csv_text(
        AHREFS_HEADER, [ahrefs_row(source="https://a.test/1", target="https://example.com/")]
    )
    semrush = csv_text(
        SEMRUSH_HEADER,
        [
            semrush_row(
                source="https://b.test/2",
                target="https://example.com/x",
                lost="TRUE",
                first_seen="Jan 5, 2024",
                last_seen="Feb 6, 2024",
            )
        ],
    )
    majestic = csv_text(
        MAJESTIC_HEADER,
        [majestic_row(source="https://c.test/3", target="https://example.com/y", nofollow="+")],
    )
    for data in (ahrefs, semrush, majestic):
        _, result = upload_and_run(client, project, headers, data.encode())
        assert (result["accepted"], result["rejected"]) == (1, 0), result
    by_source = {b.source_url: b for b in _backlinks(session, project)}
    assert by_source["https://a.test/1"].first_seen == date(2024, 1, 31)
    semrush_link = by_source["https://b.test/2"]
    assert (semrush_link.lost, semrush_link.lost_on, semrush_link.first_seen) == (
        True,
        date(2024, 2, 6),
        date(2024, 1, 5),
    )
    assert semrush_link.authority == 12
    majestic_link = by_source["https://c.test/3"]
    assert (majestic_link.nofollow, majestic_link.authority) == (True, 23)
    imports = session.exec(select(LinkImport).order_by(col(LinkImport.created_at))).all()
    assert [i.format for i in imports] == ["ahrefs", "semrush", "majestic"]


def test_search_console_links_and_summaries(
    client: TestClient, session: Session, project: Project, headers: dict[str, str]
) -> None:
    links = csv_text(
        GSC_LINKS_HEADER,
        [["https://forum.test/t/1", "2024-02-01"], ["https://forum.test/t/2", "Feb 2, 2024"]],
    )
    _, result = upload_and_run(client, project, headers, links.encode())
    assert (result["format"], result["accepted"]) == ("gsc_links", 2)
    stored = _backlinks(session, project)
    assert {b.target_url for b in stored} == {"https://example.com/"}
    assert [b.last_seen for b in stored] == [date(2024, 2, 1), date(2024, 2, 2)]

    summary = csv_text(
        GSC_TOP_LINKING_SITES_HEADER,
        [["forum.test", "1,234", "12"], ["blog.test", "56", "3"], ["bad.test", "many", "1"]],
    )
    import_id, result = upload_and_run(client, project, headers, summary.encode())
    assert (result["format"], result["accepted"], result["rejected"]) == (
        "gsc_top_linking_sites",
        2,
        1,
    )
    body = client.get(
        f"{API}/projects/{project.id}/backlinks/summaries/gsc_top_linking_sites", headers=headers
    ).json()
    assert (body["first_count_label"], body["second_count_label"]) == (
        "linking pages",
        "target pages",
    )
    assert [(r["item"], r["first_count"], r["second_count"]) for r in body["data"]] == [
        ("forum.test", 1234, 12),
        ("blog.test", 56, 3),
    ]
    report = client.get(f"{API}/links/imports/{import_id}", headers=headers).json()
    assert report["rejections"] == [
        {"line": 4, "reason": "not a count: 'many'", "source_url": None, "target_url": None}
    ]
    # A later summary replaces the previous one.
    again = csv_text(GSC_TOP_LINKING_SITES_HEADER, [["new.test", "2", "1"]])
    upload_and_run(client, project, headers, again.encode())
    body = client.get(
        f"{API}/projects/{project.id}/backlinks/summaries/gsc_top_linking_sites", headers=headers
    ).json()
    assert [r["item"] for r in body["data"]] == ["new.test"]
    assert (
        client.get(
            f"{API}/projects/{project.id}/backlinks/summaries/nope", headers=headers
        ).status_code
        == 404
    )


def test_a_cp1252_file_keeps_its_accents(
    client: TestClient, session: Session, project: Project, headers: dict[str, str]
) -> None:
    rows = [
        semrush_row(source=f"https://s{i}.test/", target="https://example.com/", anchor="plain")
        for i in range(50)
    ]
    rows.append(
        semrush_row(
            source="https://cuisine.test/", target="https://example.com/", anchor="Crème brûlée"
        )
    )
    import_id, result = upload_and_run(
        client, project, headers, csv_text(SEMRUSH_HEADER, rows).encode("cp1252")
    )
    assert result["accepted"] == 51
    assert session.get(LinkImport, import_id).encoding == "cp1252"  # type: ignore[union-attr]
    anchors = client.get(f"{API}/projects/{project.id}/backlinks/anchors", headers=headers).json()[
        "data"
    ]
    assert {"anchor": "Crème brûlée", "links": 1, "referring_domains": 1} in anchors


def test_an_unknown_header_is_refused_at_once(
    client: TestClient, project: Project, headers: dict[str, str], upload_dir: Path
) -> None:
    response = upload(client, project, headers, b"url,links\nhttps://a.test/,3\n")
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "'url', 'links'" in detail
    assert "Ahrefs: Referring page URL, Target URL" in detail
    assert "Semrush: Source url, Target url, Page ascore" in detail
    assert list(upload_dir.iterdir()) == []  # nothing left behind, no job
    for body in (b"", b"\x00\x01\x02"):
        refused = upload(client, project, headers, body)
        assert refused.status_code == 422, refused.text
    missing = client.post(
        f"{API}/projects/{project.id}/links/import",
        data={"other": "x"},
        files={"attachment": ("a.csv", b"a,b\n", "text/csv")},
        headers=headers,
    )
    assert missing.status_code == 422
    assert "file" in missing.json()["detail"]


def test_bad_rows_are_reported_with_their_line_numbers(
    client: TestClient, project: Project, headers: dict[str, str]
) -> None:
    rows = [
        ahrefs_row(source="https://ok.test/1", target="https://example.com/", anchor="a\nb\nc"),
        ahrefs_row(source="javascript:alert(1)", target="https://example.com/"),
        ahrefs_row(source="https://ok.test/2", target="https://elsewhere.test/"),
        ahrefs_row(source="https://ok.test/3", target="https://example.com/", last_seen="42nd"),
        ahrefs_row(source="https://ok.test/4", target="https://example.com/"),
    ]
    import_id, result = upload_and_run(client, project, headers, ahrefs_utf16(rows))
    assert (result["rows"], result["accepted"], result["rejected"]) == (5, 2, 3)
    report = client.get(f"{API}/links/imports/{import_id}", headers=headers).json()
    # Line 2 holds a row spanning three lines, so the next rows start on lines 5, 6 and 7.
    assert [(r["line"], r["reason"].split(":")[0]) for r in report["rejections"]] == [
        (5, "the source URL is not an http(s) URL"),
        (6, "the target URL is not on the project's site (example.com)"),
        (7, "Last seen is not a date"),
    ]
    assert report["rejections"][1]["target_url"] == "https://elsewhere.test/"
    download = client.get(f"{API}/links/imports/{import_id}/rejected.csv", headers=headers)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    lines = download.text.splitlines()
    assert lines[0] == "line,reason,source_url,target_url"
    assert lines[1].startswith("5,the source URL is not an http(s) URL")
    assert len(lines) == 4


def test_first_and_last_seen_merge_across_imports(
    client: TestClient, session: Session, project: Project, headers: dict[str, str]
) -> None:
    first = ahrefs_utf16(
        [
            ahrefs_row(
                source="https://a.test/",
                target="https://example.com/",
                anchor="newer anchor",
                first_seen="2024-01-31",
                last_seen="2024-03-01",
            ),
            # The same link twice in one file: merged in the batch.
            ahrefs_row(
                source="https://a.test/",
                target="https://example.com/",
                anchor="newer anchor",
                first_seen="2024-01-15",
                last_seen="2024-02-01",
            ),
        ]
    )
    _, result = upload_and_run(client, project, headers, first)
    assert (result["rows"], result["new"], result["updated"]) == (2, 1, 0)
    second = csv_text(
        SEMRUSH_HEADER,
        [
            semrush_row(
                source="https://a.test/",
                target="https://example.com/",
                anchor="older anchor",
                first_seen="2023-12-01",
                last_seen="2024-02-15",
            ),
            semrush_row(source="https://b.test/", target="https://example.com/"),
        ],
    )
    _, result = upload_and_run(client, project, headers, second.encode())
    assert (result["new"], result["updated"]) == (1, 1)
    merged = _backlinks(session, project)[0]
    assert (merged.first_seen, merged.last_seen) == (date(2023, 12, 1), date(2024, 3, 1))
    assert merged.anchor == "newer anchor"  # the more recent sighting's
    assert merged.authority == 45  # Ahrefs' DR kept: the Semrush sighting is older


def test_a_link_repeated_across_batches_of_a_first_import(
    tmp_path: Path, session: Session, project: Project
) -> None:
    """A project's first import copies its batches straight into the table; a link met
    again in a later batch fails that batch's copy, which is rolled back and upserted (as
    the rest of the import is): every link once, its sightings merged, none lost."""
    rows = [
        ahrefs_row(source=f"https://a.test/{i}", target="https://example.com/") for i in range(5)
    ]
    rows.append(
        ahrefs_row(
            source="https://a.test/0",
            target="https://example.com/",
            first_seen="2020-01-01",
            last_seen="2024-06-01",
            anchor="seen again",
        )
    )
    rows.append(ahrefs_row(source="https://a.test/5", target="https://example.com/"))
    path = tmp_path / "export.csv"
    path.write_bytes(ahrefs_utf16(rows))
    inspected = service.inspect_file(path)
    source = ingest.ImportSource(
        path=path,
        encoding=inspected.encoding,
        delimiter=inspected.delimiter,
        plan=inspected.plan,
    )
    target = ingest.ImportTarget(
        project_id=project.id,
        import_id=uuid.uuid4(),
        site_url=project.site_url,
        include_subdomains=project.include_subdomains,
    )

    def run() -> ingest.ImportTally:
        return ingest.ingest(
            source,
            target,
            connect=service.connect_for_import,
            progress=lambda _done, _total: None,
            batch_rows=2,
        )

    # Batches [0, 1], [2, 3] copied; [4, 0 again] meets link 0: upserted, and [5] after it.
    tally = run()
    assert (tally.rows, tally.new, tally.updated) == (7, 6, 1)
    links = _backlinks(session, project)
    assert [link.source_url for link in links] == [f"https://a.test/{i}" for i in range(6)]
    assert (links[0].first_seen, links[0].last_seen) == (date(2020, 1, 1), date(2024, 6, 1))
    assert links[0].anchor == "seen again"
    # Imported again: the project has links, every batch is upserted, nothing is new (link
    # 0 is updated by two batches).
    tally = run()
    assert (tally.new, tally.updated) == (0, 7)
    assert len(_backlinks(session, project)) == 6


def test_uploads_over_the_limit_answer_413(
    client: TestClient,
    project: Project,
    headers: dict[str, str],
    upload_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(settings, "LINKS_MAX_UPLOAD_BYTES", 4096)
    rows = [
        semrush_row(source=f"https://s{i}.test/", target="https://example.com/") for i in range(60)
    ]
    big = csv_text(SEMRUSH_HEADER, rows).encode()
    assert len(big) > 4096
    response = upload(client, project, headers, big)
    assert response.status_code == 413
    assert "4,096 bytes" in response.json()["detail"]

    # Without a Content-Length (a chunked body), the limit holds while streaming.
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()

    def body() -> object:
        yield head
        for start in range(0, len(big), 1000):
            yield big[start : start + 1000]
        yield f"\r\n--{boundary}--\r\n".encode()

    monkeypatch.setattr(settings, "LINKS_MAX_UPLOAD_BYTES", 2048)
    chunked = client.post(
        f"{API}/projects/{project.id}/links/import",
        content=body(),  # type: ignore[arg-type]
        headers={**headers, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert chunked.status_code == 413
    assert list(upload_dir.iterdir()) == []


def test_other_users_imports_and_backlinks_are_not_found(
    client: TestClient, session: Session, project: Project, headers: dict[str, str]
) -> None:
    data = csv_text(
        AHREFS_HEADER, [ahrefs_row(source="https://a.test/", target="https://example.com/")]
    )
    import_id, _ = upload_and_run(client, project, headers, data.encode())
    stranger = create_user(session)
    theirs = auth_headers(stranger)
    for path in (
        f"/links/imports/{import_id}",
        f"/links/imports/{import_id}/rejected.csv",
        f"/projects/{project.id}/links/imports",
        f"/projects/{project.id}/backlinks",
        f"/projects/{project.id}/backlinks/referring-domains",
        f"/projects/{project.id}/backlinks/anchors",
        f"/projects/{project.id}/backlinks/timeline",
    ):
        assert client.get(f"{API}{path}", headers=theirs).status_code == 404, path
    assert upload(client, project, theirs, data.encode()).status_code == 404
    assert client.get(f"{API}/links/imports/{uuid.uuid4()}", headers=headers).status_code == 404
    # Their own project sees nothing of it.
    own = create_project(session, owner=stranger, site_url="https://example.com")
    listed = client.get(f"{API}/projects/{own.id}/backlinks", headers=theirs).json()
    assert listed["count"] == 0


def test_the_job_is_recorded_with_its_import(
    client: TestClient, session: Session, project: Project, headers: dict[str, str]
) -> None:
    data = csv_text(
        AHREFS_HEADER, [ahrefs_row(source="https://a.test/", target="https://example.com/")]
    )
    response = upload(client, project, headers, codecs.BOM_UTF8 + data.encode())
    job = session.get(JobRun, uuid.UUID(response.json()["id"]))
    assert job is not None
    link_import = session.exec(select(LinkImport)).one()
    assert (link_import.job_id, link_import.encoding, link_import.delimiter) == (
        job.id,
        "utf-8",
        ",",
    )
    assert link_import.bytes == len(data.encode()) + 3


def test_the_rejected_rows_file_is_named_after_the_upload(
    client: TestClient, project: Project, headers: dict[str, str]
) -> None:
    data = ahrefs_utf16([ahrefs_row(source="ftp://a.test/", target="https://example.com/")])
    response = upload(client, project, headers, data, name="rapport été 日本.csv")
    import_id = uuid.UUID(response.json()["config_json"]["import_id"])
    run_import(import_id)
    report = client.get(f"{API}/links/imports/{import_id}", headers=headers).json()
    assert report["file_name"] == "rapport été 日本.csv"
    download = client.get(f"{API}/links/imports/{import_id}/rejected.csv", headers=headers)
    assert download.status_code == 200
    assert download.headers["content-disposition"] == (
        'attachment; filename="rapport_t_-rejected.csv"'
    )


def test_uploads_at_once_are_bounded(
    client: TestClient, project: Project, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "_uploads_in_progress", asyncio.Semaphore(0))  # all taken
    data = csv_text(
        AHREFS_HEADER, [ahrefs_row(source="https://a.test/", target="https://example.com/")]
    )
    response = upload(client, project, headers, data.encode())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "10"
