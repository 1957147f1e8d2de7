"""An import parsed by two processes (the importer and its parse helper, in chunks) stores
what one process reading the whole file stores, and reports the same rows, rejections and
line numbers; when the helper dies the importer parses its chunks itself; a cancelled
import stops its helper."""

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil  # type: ignore[import-untyped]
import pytest
from sqlmodel import Session, col, select

from app.links import helper, ingest, service
from app.links.models import Backlink
from app.projects.models import Project
from app.users.models import User
from tests.builders import create_project
from tests.links.exports import (
    SEMRUSH_HEADER,
    ahrefs_row,
    ahrefs_utf16,
    csv_text,
    semrush_row,
)

# Chunks of a few rows each: hundreds of chunk boundaries in a small file.
SMALL_CHUNKS = 700
Progress = Callable[[int, int], None]


def _ahrefs_export(path: Path) -> Path:
    site = "https://example.com/"
    rows = []
    for i in range(400):
        anchor = f"anchor {i}\nover two lines" if i % 7 == 0 else f"anchor {i}"
        rows.append(ahrefs_row(source=f"https://s{i % 90}.test/p/{i}", target=site, anchor=anchor))
        if i % 50 == 13:
            rows.append(ahrefs_row(source=f"https://bad{i}.test/", target="https://off.test/"))
        if i % 60 == 7:
            rows.append(ahrefs_row(source=f"https://d{i}.test/", target=site, first_seen="no"))
        if i % 45 == 3:  # a doubled quote: the chunk is read by the csv module's rules
            rows.append(ahrefs_row(source=f"https://q{i}.test/", target=site, anchor='say "hi"'))
    # A link met again far later: its sightings merge.
    rows.append(
        ahrefs_row(
            source="https://s3.test/p/3",
            target=site,
            anchor="seen again",
            first_seen="2020-01-01",
            last_seen="2025-01-01",
        )
    )
    path.write_bytes(ahrefs_utf16(rows))
    return path


def _semrush_export(path: Path) -> Path:
    site = "https://example.com/x"
    rows = []
    for i in range(400):
        title = f'A "quoted", title\nover lines {i}' if i % 9 == 0 else f"Title {i}"
        rows.append(semrush_row(source=f"https://s{i % 70}.test/p/{i}", target=site, title=title))
        if i % 40 == 5:
            rows.append(semrush_row(source="not a url", target=site))
    text = csv_text(SEMRUSH_HEADER, rows)
    # A stray quote in an unquoted field (the quote count's guess is wrong after it), a
    # short row, a blank line, and a link met again.
    text += '5,24" screen,https://stray.test/a,https://example.com/,anchor\n'
    text += "1,2\n\n"
    again = semrush_row(source="https://s1.test/p/1", target=site, anchor="again")
    text += csv_text(SEMRUSH_HEADER, [again]).split("\n", 1)[1]
    path.write_bytes(text.encode())
    return path


def _import(
    path: Path,
    project: Project,
    *,
    use_helper: bool,
    chunk_chars: int = ingest.CHUNK_CHARS,
    progress: Progress = lambda _done, _total: None,
) -> ingest.ImportTally:
    inspected = service.inspect_file(path)
    return ingest.ingest(
        ingest.ImportSource(
            path=path,
            encoding=inspected.encoding,
            delimiter=inspected.delimiter,
            plan=inspected.plan,
        ),
        ingest.ImportTarget(
            project_id=project.id,
            import_id=uuid.uuid4(),
            site_url=project.site_url,
            include_subdomains=project.include_subdomains,
        ),
        connect=service.connect_for_import,
        progress=progress,
        batch_rows=40,
        use_helper=use_helper,
        chunk_chars=chunk_chars,
    )


def _stored(session: Session, project: Project) -> list[tuple[Any, ...]]:
    session.expire_all()
    links = session.exec(
        select(Backlink)
        .where(Backlink.project_id == project.id)
        .order_by(col(Backlink.source_url), col(Backlink.target_url))
    ).all()
    return [
        (
            link.link_key,
            link.source_url,
            link.target_url,
            link.referring_domain,
            link.anchor,
            link.source_title,
            link.first_seen,
            link.last_seen,
            link.lost,
            link.nofollow,
            link.authority,
        )
        for link in links
    ]


def _report(tally: ingest.ImportTally) -> tuple[Any, ...]:
    return (tally.rows, tally.rejected, tally.new, tally.updated, tally.rejections)


def _helpers() -> list[psutil.Process]:
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "app.links.helper_process" in child.cmdline():
                found.append(child)
        except psutil.Error:
            continue
    return found


@pytest.fixture
def other_project(session: Session, owner: User) -> Project:
    return create_project(session, owner=owner, site_url="https://example.com")


@pytest.mark.parametrize("export", [_ahrefs_export, _semrush_export])
def test_two_processes_store_and_report_what_one_does(
    export: Callable[[Path], Path],
    tmp_path: Path,
    session: Session,
    project: Project,
    other_project: Project,
) -> None:
    path = export(tmp_path / "export.csv")
    one = _import(path, project, use_helper=False)
    two = _import(path, other_project, use_helper=True, chunk_chars=SMALL_CHUNKS)
    assert _report(two) == _report(one)
    assert one.rejected >= 3
    assert one.updated >= 1 or one.new < one.accepted  # a link met twice was merged
    assert _stored(session, other_project) == _stored(session, project)
    # Imported again by two processes: every link updated, the same rows stored.
    again = _import(path, other_project, use_helper=True, chunk_chars=SMALL_CHUNKS)
    assert (again.new, again.updated, again.rejections) == (0, one.accepted, one.rejections)
    assert _stored(session, other_project) == _stored(session, project)
    assert _helpers() == []  # the helper has ended


def test_the_importer_parses_a_dead_helpers_chunks_itself(
    tmp_path: Path, session: Session, project: Project, other_project: Project
) -> None:
    path = _ahrefs_export(tmp_path / "export.csv")
    one = _import(path, project, use_helper=False)
    killed: list[int] = []

    def kill_the_helper(_done: int, _total: int) -> None:
        if not killed:
            for helper in _helpers():
                helper.kill()
                killed.append(helper.pid)

    two = _import(
        path, other_project, use_helper=True, chunk_chars=SMALL_CHUNKS, progress=kill_the_helper
    )
    assert killed
    assert _report(two) == _report(one)
    assert _stored(session, other_project) == _stored(session, project)


class _Cancelled(Exception):
    pass


def test_a_cancelled_import_stops_its_helper(
    tmp_path: Path, session: Session, project: Project
) -> None:
    path = _semrush_export(tmp_path / "export.csv")
    seen: list[int] = []
    calls: list[int] = []

    def cancel(_done: int, _total: int) -> None:
        calls.append(1)
        if len(calls) == 4:  # a few batches in
            seen.extend(helper.pid for helper in _helpers())
            raise _Cancelled

    with pytest.raises(_Cancelled):
        _import(path, project, use_helper=True, chunk_chars=SMALL_CHUNKS, progress=cancel)
    assert seen  # it was running when the import was cancelled
    assert _helpers() == []
    assert not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie" for pid in seen
    )
    # What was committed before the cancel stays: a prefix of the file's links.
    stored = _stored(session, project)
    assert 0 < len(stored) < 400


def test_an_import_whose_helper_cannot_start_is_parsed_by_one_process(
    tmp_path: Path,
    session: Session,
    project: Project,
    other_project: Project,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = _semrush_export(tmp_path / "export.csv")
    one = _import(path, project, use_helper=False)
    monkeypatch.setattr(helper.sys, "executable", str(tmp_path / "no-such-python"))
    two = _import(path, other_project, use_helper=True, chunk_chars=SMALL_CHUNKS)
    assert _report(two) == _report(one)
    assert _stored(session, other_project) == _stored(session, project)
