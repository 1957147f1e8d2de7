"""CSV exports of an audit's pages and issues, streamed in chunks."""

import csv
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from app.audits.checks.catalogue import CATALOGUE
from app.core.db import session_scope

# --- CSV exports -----------------------------------------------------------------------

PAGE_CSV_COLUMNS = (
    "url",
    "status_code",
    "final_url",
    "error",
    "depth",
    "indexable",
    "title",
    "meta_description",
    "h1",
    "word_count",
    "response_time_ms",
    "size_bytes",
    "canonical_url",
    "in_sitemap",
    "internal_link_count",
    "issue_count",
)
ISSUE_CSV_COLUMNS = ("url", "code", "severity", "title", "details")
CSV_CHUNK = 1000


# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV
# injection); the text comes from the crawled site, so its owner could plant one. The
# full-width forms are read as formulas by some spreadsheets too.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value  # shown as text, the quote visible, never evaluated
    return value


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([_cell(value) for value in values])
    return buffer.getvalue()


def pages_csv(*, audit_id: uuid.UUID) -> Iterator[str]:
    """The audit's pages as CSV lines, read in keyset-paginated chunks with a session of
    its own (the response streams after the request's session is gone)."""
    yield _csv_line(list(PAGE_CSV_COLUMNS))
    last_id = 0
    while True:
        with session_scope() as session:
            rows = session.execute(
                sa.text("""
                    SELECT p.id, p.url, p.status_code, p.final_url, p.error, p.depth,
                           p.indexable, p.title, p.meta_description, p.h1[1], p.word_count,
                           p.response_time_ms, p.size_bytes, p.canonical_url, p.in_sitemap,
                           p.internal_link_count,
                           (SELECT count(*) FROM audit_issues i
                            WHERE i.audit_id = p.audit_id AND i.url = p.url)
                    FROM audit_pages p
                    WHERE p.audit_id = :id AND p.id > :last
                    ORDER BY p.id LIMIT :chunk
                """),
                {"id": audit_id, "last": last_id, "chunk": CSV_CHUNK},
            ).all()
        if not rows:
            return
        for row in rows:
            yield _csv_line(list(row[1:]))
        last_id = rows[-1][0]


def issues_csv(*, audit_id: uuid.UUID) -> Iterator[str]:
    yield _csv_line(list(ISSUE_CSV_COLUMNS))
    last_id = 0
    while True:
        with session_scope() as session:
            rows = session.execute(
                sa.text("""
                    SELECT id, url, code, severity, details FROM audit_issues
                    WHERE audit_id = :id AND id > :last ORDER BY id LIMIT :chunk
                """),
                {"id": audit_id, "last": last_id, "chunk": CSV_CHUNK},
            ).all()
        if not rows:
            return
        for _id, url, code, severity, details in rows:
            check = CATALOGUE.get(code)
            title = check.title if check else code
            yield _csv_line([url, code, severity, title, json.dumps(details)])
        last_id = rows[-1][0]
