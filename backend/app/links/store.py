"""Writing links: COPY into a temporary table, then one INSERT ... ON CONFLICT per batch (no
row-by-row ORM: a 100 MB export is hundreds of thousands of rows); or, for a batch of links
the project does not have yet (the first import of a project), COPY straight into the table.

The direct COPY is about half the database's work per row (measured: no second pass over a
stage, no speculative insertion, rows written a page at a time). A link that exists after
all (a repeat of an earlier batch, a concurrent import) fails the whole COPY with a unique
violation: the caller rolls the batch back and writes it again by the upsert, which is
always right. Its key, md5(source || LF || target) of the UTF-8 bytes, is computed in Python
(copyrows.py) for both.

Merging with what earlier imports stored: first_seen is the earliest, last_seen the latest;
the other attributes (anchor, title, flags, lost, authority) come from the more recent
sighting, the row read now when either last_seen is unknown.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from app.links.copyrows import SIGNATURE, TRAILER
from app.links.rows import StagedSummary

STAGE_COLUMNS = (
    "source_url",
    "target_url",
    "referring_domain",
    "anchor",
    "source_title",
    "first_seen",
    "last_seen",
    "lost",
    "lost_on",
    "nofollow",
    "ugc",
    "sponsored",
    "authority",
)
# The fields of a COPY row (copyrows.py).
COPY_COLUMNS = ("project_id", "link_key", *STAGE_COLUMNS, "created_at", "updated_at")

_CREATE_STAGE = """
    CREATE TEMPORARY TABLE IF NOT EXISTS links_copy_stage (
        project_id uuid NOT NULL,
        link_key uuid NOT NULL,
        source_url text NOT NULL,
        target_url text NOT NULL,
        referring_domain text NOT NULL,
        anchor text,
        source_title text,
        first_seen date,
        last_seen date,
        lost boolean NOT NULL,
        lost_on date,
        nofollow boolean NOT NULL,
        ugc boolean NOT NULL,
        sponsored boolean NOT NULL,
        authority double precision,
        created_at timestamptz NOT NULL,
        updated_at timestamptz NOT NULL
    ) ON COMMIT DELETE ROWS
"""

# Binary COPY of rows encoded in Python a column at a time (copyrows.py).
_COPY_STAGE = f"COPY links_copy_stage ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_COPY_DIRECT = f"COPY backlinks ({', '.join(COPY_COLUMNS)}) FROM STDIN (FORMAT BINARY)"

_NEWER = "COALESCE(EXCLUDED.last_seen >= b.last_seen, true)"
_TAKEN_FROM_NEWER = (
    "anchor",
    "source_title",
    "lost",
    "lost_on",
    "nofollow",
    "ugc",
    "sponsored",
    "referring_domain",
)
_SET_NEWER = ",\n".join(
    f"{c} = CASE WHEN {_NEWER} THEN EXCLUDED.{c} ELSE b.{c} END" for c in _TAKEN_FROM_NEWER
)

# (xmax = 0) is true for a row this statement inserted, false for one it updated.
_UPSERT = f"""
    WITH upserted AS (
        INSERT INTO backlinks AS b (
            project_id, link_key, {", ".join(STAGE_COLUMNS)}, created_at, updated_at
        )
        SELECT %(project_id)s, link_key, {", ".join(STAGE_COLUMNS)}, now(), now()
        FROM links_copy_stage
        ON CONFLICT (project_id, link_key) DO UPDATE SET
            first_seen = LEAST(b.first_seen, EXCLUDED.first_seen),
            last_seen = GREATEST(b.last_seen, EXCLUDED.last_seen),
            authority = CASE WHEN {_NEWER} THEN COALESCE(EXCLUDED.authority, b.authority)
                             ELSE b.authority END,
            {_SET_NEWER},
            updated_at = now()
        RETURNING (xmax = 0) AS inserted
    )
    SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM upserted
"""  # noqa: S608 - composed of constants
_HAS_LINKS = "SELECT EXISTS (SELECT FROM backlinks WHERE project_id = %(project_id)s)"


def prepare(connection: psycopg.Connection[Any]) -> None:
    connection.execute(_CREATE_STAGE)


def has_links(connection: psycopg.Connection[Any], *, project_id: uuid.UUID) -> bool:
    row = connection.execute(_HAS_LINKS, {"project_id": project_id}).fetchone()
    return bool(row and row[0])


def database_now(connection: psycopg.Connection[Any]) -> datetime:
    row = connection.execute("SELECT now()").fetchone()
    assert row is not None
    now: datetime = row[0]
    return now


def copy_payload(rows: Sequence[bytes]) -> bytes:
    """The binary COPY data of a batch's rows (copyrows.py)."""
    return b"".join((SIGNATURE, *rows, TRAILER))


def insert_new_links(connection: psycopg.Connection[Any], payload: bytes, rows: int) -> int:
    """Writes one batch of links the project does not have (copy_payload's data, each link
    once), by COPY into the table, in the connection's open transaction. Raises
    psycopg.errors.UniqueViolation when one exists: the caller rolls back and upserts the
    batch instead. Returns the rows written."""
    with connection.cursor() as cursor, cursor.copy(_COPY_DIRECT) as copy:
        copy.write(payload)
    return rows


def upsert_links(
    connection: psycopg.Connection[Any], *, project_id: uuid.UUID, payload: bytes
) -> tuple[int, int]:
    """Writes one batch (in the connection's open transaction; the caller commits, which
    also empties the stage). Returns (new, updated). The batch holds each link once."""
    with connection.cursor() as cursor:
        with cursor.copy(_COPY_STAGE) as copy:
            copy.write(payload)
        row = cursor.execute(_UPSERT, {"project_id": project_id}).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


_REPLACE_SUMMARY = """
    DELETE FROM link_summary_rows WHERE project_id = %(project_id)s AND kind = %(kind)s
"""
_INSERT_SUMMARY = """
    INSERT INTO link_summary_rows (project_id, import_id, kind, item, first_count, second_count)
    VALUES (%(project_id)s, %(import_id)s, %(kind)s, %(item)s, %(first)s, %(second)s)
    ON CONFLICT (project_id, kind, item) DO UPDATE SET
        import_id = EXCLUDED.import_id,
        first_count = EXCLUDED.first_count,
        second_count = EXCLUDED.second_count
"""


def replace_summary(
    connection: psycopg.Connection[Any],
    *,
    project_id: uuid.UUID,
    import_id: uuid.UUID,
    kind: str,
    rows: Sequence[StagedSummary],
    first_batch: bool,
) -> int:
    """Writes a batch of summary rows; the first batch of an import first removes the
    project's previous summary of the same kind (a summary is a snapshot, not a history)."""
    with connection.cursor() as cursor:
        if first_batch:
            cursor.execute(_REPLACE_SUMMARY, {"project_id": project_id, "kind": kind})
        cursor.executemany(
            _INSERT_SUMMARY,
            [
                {
                    "project_id": project_id,
                    "import_id": import_id,
                    "kind": kind,
                    "item": item,
                    "first": first,
                    "second": second,
                }
                for item, first, second in rows
            ],
        )
    return len(rows)
