"""Batches read a column at a time (copyrows.py) give, row for row, what the row reader
(rows.py, the reference) gives: the same COPY row for each link, the same rejections with
the same reasons, in file order; and PostgreSQL's COPY reads the rows back as the values
they hold."""

import uuid
from datetime import UTC, date, datetime

import psycopg
import pytest

from app.core.config import settings
from app.core.db import libpq_dsn
from app.links.copyrows import SIGNATURE, TRAILER, CopyBatchReader, link_key, link_row
from app.links.formats import recognise
from app.links.rows import LinkRowReader, RejectedRow, SiteScope
from tests.links.exports import (
    AHREFS_HEADER,
    GSC_LINKS_HEADER,
    MAJESTIC_HEADER,
    SEMRUSH_HEADER,
    ahrefs_row,
    majestic_row,
    semrush_row,
)

SITE = "https://www.example.com/"
PROJECT = uuid.UUID(int=7)
CREATED = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def _readers(header: list[str]) -> tuple[CopyBatchReader, LinkRowReader]:
    def row_reader() -> LinkRowReader:
        return LinkRowReader(
            recognise(header), SiteScope(SITE, include_subdomains=False), site_url=SITE
        )

    return CopyBatchReader(row_reader(), PROJECT.bytes, CREATED), row_reader()


def _expected(
    batches: CopyBatchReader, reader: LinkRowReader, rows: list[list[str]]
) -> tuple[list[bytes], list[object]]:
    lines: list[bytes] = []
    rejected: list[object] = []
    for i, row in enumerate(rows):
        try:
            link = reader.read(list(row))
        except RejectedRow as exc:
            rejected.append((i, str(exc)))
        else:
            lines.append(link_row(batches.head, batches.tail, link)[1])
    return lines, rejected


def _ahrefs_rows() -> list[list[str]]:
    good = "https://example.com/page"
    return [
        ahrefs_row(source="https://www.a.test/1", target=good),
        ahrefs_row(source="  https://A.test/2  ", target=f" {good} ", anchor="  spaced  "),
        ahrefs_row(source="https://a.test/3", target=good, anchor="two\nlines\r\nand\ttab \\ "),
        ahrefs_row(source="https://a.test/4", target=good, anchor="", title=""),
        ahrefs_row(source="https://a.test/5", target=good, anchor="x" * 1500, title="nul\x00here"),
        ahrefs_row(source="https://a.test/6\\tab\there", target=good, dr="7,5"),
        ahrefs_row(source="https://a.test/7", target=good, dr="n/a", nofollow=" TRUE "),
        ahrefs_row(source="https://a.test/8", target=good, lost="2024-04-02"),
        ahrefs_row(source="https://a.test/9", target=good, lost="   ", ugc="yes"),
        ahrefs_row(source="https://a.test/10", target=good, first_seen="", last_seen=""),
        ahrefs_row(source="https://a.test/11", target=good, first_seen="Jan 31, 2024"),
        ahrefs_row(source="javascript:alert(1)", target=good),
        ahrefs_row(source="https://a.test/13", target="https://elsewhere.test/"),
        ahrefs_row(source="https://a.test/14", target=good, last_seen="42nd"),
        ahrefs_row(source="https://a.test/15", target=good, first_seen="42nd"),
        ahrefs_row(source="https://a.test/16", target=good, lost="soon"),
        ["https://a.test/17"],
        [""],
        ahrefs_row(source="https://a.test/" + "p" * 2100, target=good),
        ahrefs_row(source="https://a.test/\x00", target=good),
        ahrefs_row(source="https://a.test/21", target=good + "\x00"),
        ahrefs_row(source="https://bücher.test/22", target=good),
        ahrefs_row(source="https://a.test", target=good),
        ahrefs_row(source="https://a.tes", target=good),
        ahrefs_row(source="https://a.tes/24", target=good),
        ahrefs_row(source="http:///x", target=good),
        ahrefs_row(source="HTTPS://WWW.B.test/", target=good),
        ahrefs_row(source="https://a.test/27", target="/relative"),
        ahrefs_row(source="https://a.test/28", target=good, sponsored="maybe"),
    ]


@pytest.mark.parametrize("split", [1, 3, 100])
def test_a_batch_reads_as_its_rows_do(split: int) -> None:
    rows = _ahrefs_rows()
    batches, reference = _readers(AHREFS_HEADER)
    for _ in range(2):  # the second pass answers from the caches
        for start in range(0, len(rows), split):
            part = [list(row) for row in rows[start : start + split]]
            batch = batches.read(part)
            lines, rejected = _expected(batches, reference, rows[start : start + split])
            assert batch.rows == lines
            assert batch.rejected == rejected
            assert len(batch.keys) == len(set(batch.keys)) == len(lines)


@pytest.mark.parametrize(
    ("header", "rows"),
    [
        (
            SEMRUSH_HEADER,
            [
                semrush_row(source="https://a.test/1", target="https://example.com/", lost="true"),
                semrush_row(source="https://a.test/2", target="https://example.com/", lost="x"),
                semrush_row(source="https://a.test/3", target="https://example.com/", ascore=""),
                semrush_row(source="https://a.test/4", target="https://example.com/", last_seen=""),
            ],
        ),
        (
            MAJESTIC_HEADER,
            [
                majestic_row(source="https://a.test/1", target="https://example.com/"),
                majestic_row(source="https://a.test/2", target="https://example.com/", first=""),
                majestic_row(source="https://a.test/3", target="https://no.test/"),
            ],
        ),
        (
            GSC_LINKS_HEADER,
            [["https://forum.test/t/1", "Jan 31, 2024"], ["https://forum.test/t/2", ""]],
        ),
    ],
)
def test_each_format_reads_as_its_rows_do(header: list[str], rows: list[list[str]]) -> None:
    batches, reference = _readers(header)
    batch = batches.read([list(row) for row in rows])
    assert (batch.rows, batch.rejected) == _expected(batches, reference, rows)


def test_a_link_twice_in_a_batch_is_written_once_merged() -> None:
    batches, _ = _readers(AHREFS_HEADER)
    target = "https://example.com/"
    rows = [
        ahrefs_row(source="https://a.test/1", target=target, first_seen="2024-02-01"),
        ahrefs_row(source="javascript:no", target=target),
        ahrefs_row(
            source="https://a.test/1",
            target=target,
            anchor="seen again",
            first_seen="2023-12-01",
            last_seen="2024-01-15",
        ),
    ]
    batch = batches.read(rows)
    assert [i for i, _ in batch.rejected] == [1]
    assert batch.keys == [link_key("https://a.test/1", target)]
    assert len(batch.rows) == 1
    copied = _copied(batch.rows)
    # The earliest first seen, the latest last seen, the more recent sighting's anchor.
    assert copied["https://a.test/1"][1:4] == ("an anchor", date(2023, 12, 1), date(2024, 3, 1))


def _copied(rows: list[bytes]) -> dict[str, tuple[object, ...]]:
    """The rows as PostgreSQL reads them, by source URL."""
    with psycopg.connect(libpq_dsn(settings.DATABASE_URL)) as connection:
        connection.execute(
            "CREATE TEMPORARY TABLE copied (p uuid, k uuid, s text, t text, d text, a text,"
            " ti text, f date, l date, lo bool, lon date, n bool, u bool, sp bool,"
            " au float8, c timestamptz, up timestamptz)"
        )
        with connection.cursor().copy("COPY copied FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(b"".join((SIGNATURE, *rows, TRAILER)))
        found = connection.execute(
            "SELECT s, k, a, f, l, lo, lon, n, u, sp, au, p, c, up, d, ti FROM copied"
        ).fetchall()
    return {row[0]: row[1:] for row in found}


def test_copy_reads_the_rows_back_as_their_values() -> None:
    batches, reference = _readers(AHREFS_HEADER)
    rows = _ahrefs_rows()
    batch = batches.read([list(row) for row in rows])
    copied = _copied(batch.rows)
    assert len(copied) == len(batch.rows)
    for row in rows:
        try:
            link = reference.read(list(row))
        except RejectedRow:
            continue
        (key, anchor, first, last, lost, lost_on, nofollow, ugc, sponsored, authority,
         project, created, updated, domain, title) = copied[link[0]]  # fmt: skip
        assert key.bytes == link_key(link[0], link[1])
        assert (domain, anchor, title) == link[2:5]
        assert (first, last, lost, lost_on, nofollow, ugc, sponsored, authority) == link[5:]
        assert (project, created, updated) == (PROJECT, CREATED, CREATED)
    assert copied["https://a.test/3"][1] == "two\nlines\r\nand\ttab \\"
    assert copied["https://a.test/6\\tab\there"][9] == 7.5
