"""Writing one synced day: COPY into temporary tables, then set-based upserts.

A day is written in the caller's transaction (one per day, so a day is all there or not at
all). For each page of rows, as it arrives:

1. the page is COPied into `gsc_stage` (temporary, emptied per page: pages are never all in
   memory or in one statement);
2. queries and pages new to the property join the dictionaries (`gsc_queries`, `gsc_pages`);
3. `INSERT ... SELECT ... ON CONFLICT (site, type, date, query, page, country, device) DO
   UPDATE` writes the page's rows, touching only rows whose values changed (a re-run of
   final data writes nothing). While the server runs these statements the sync fetches and
   parses the next page (sync.py), so Python and PostgreSQL work at the same time;
4. when the day already had rows, the page's keys are kept in `gsc_stage_keys`.

Then, at the end of the day:

5. rows of the day Google no longer sends (a provisional day's rows whose key changed) are
   deleted: the anti-join against `gsc_stage_keys` runs only when the day's counts say some
   are there (more rows stored than sent);
6. when any row of the day changed, its per-query and per-page sums are rewritten;
7. the day's totals are replaced and the day recorded in `gsc_days`.

So any re-run of a day leaves the same rows. No row-by-row ORM anywhere on this path. The
day's commit does not wait for the WAL flush (`synchronous_commit` off for it): a day lost
to a server crash is simply not recorded as synced, and the next sync fetches it again.
"""

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlmodel import Session

from app.core.db import driver_connection
from app.jobs.errors import PermanentJobError, TransientJobError

# A dictionary value is a key of a unique btree index (at most ~2,700 bytes a key): longer
# queries or URLs keep their start and a digest of the whole, so they stay distinct.
MAX_KEY_CHARS = 512

_CREATE_STAGE = """
SET LOCAL synchronous_commit = off;
CREATE TEMP TABLE IF NOT EXISTS gsc_stage (
    query text COLLATE "C" NOT NULL, page text COLLATE "C" NOT NULL,
    country text COLLATE "C" NOT NULL, device text COLLATE "C" NOT NULL,
    clicks integer NOT NULL, impressions integer NOT NULL, position double precision NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS gsc_stage_keys (
    query text COLLATE "C" NOT NULL, page text COLLATE "C" NOT NULL,
    country text COLLATE "C" NOT NULL, device text COLLATE "C" NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS gsc_stage_totals (
    country text COLLATE "C" NOT NULL, device text COLLATE "C" NOT NULL,
    clicks integer NOT NULL, impressions integer NOT NULL, position double precision NOT NULL
) ON COMMIT DELETE ROWS;
TRUNCATE gsc_stage, gsc_stage_keys, gsc_stage_totals;
"""

_KEEP_KEYS = """
INSERT INTO gsc_stage_keys (query, page, country, device)
SELECT query, page, country, device FROM gsc_stage
"""

# Every lookup of a page's queries and pages in the dictionaries is a probe of their unique
# index, once per distinct value, written as a correlated scalar subquery: a join would leave
# the plan to statistics that lag far behind a dictionary growing by thousands of entries a
# page (a nested loop over a dictionary thought empty reads it once per staged row).
# Sequential scans are off for the page statements (_PROBE_PLANS), so the probes use the
# index; the page's rows then meet the few thousand ids found by hash.
_NEW_QUERIES = """
INSERT INTO gsc_queries (site_id, query)
SELECT %(site)s, s.query FROM (SELECT DISTINCT query FROM gsc_stage) s
WHERE (SELECT q.id FROM gsc_queries q WHERE q.site_id = %(site)s AND q.query = s.query) IS NULL
ON CONFLICT (site_id, query) DO NOTHING
"""

_NEW_PAGES = """
INSERT INTO gsc_pages (site_id, page)
SELECT %(site)s, s.page FROM (SELECT DISTINCT page FROM gsc_stage) s
WHERE (SELECT p.id FROM gsc_pages p WHERE p.site_id = %(site)s AND p.page = s.page) IS NULL
ON CONFLICT (site_id, page) DO NOTHING
"""

# Rows of a page, with their dictionary ids, in primary-key order (the index then grows
# nearly in order instead of splitting pages all over). ON CONFLICT finds existing rows by
# probing the primary key, whatever the statistics say; unchanged ones are not rewritten.
_UPSERT_ROWS = """
WITH queries AS MATERIALIZED (
    SELECT v.query, (SELECT q.id FROM gsc_queries q
                     WHERE q.site_id = %(site)s AND q.query = v.query) AS id
    FROM (SELECT DISTINCT query FROM gsc_stage) v
), pages AS MATERIALIZED (
    SELECT v.page, (SELECT p.id FROM gsc_pages p
                    WHERE p.site_id = %(site)s AND p.page = v.page) AS id
    FROM (SELECT DISTINCT page FROM gsc_stage) v
)
INSERT INTO gsc_rows AS r (site_id, search_type, date, query_id, page_id, country, device,
                           clicks, impressions, position)
SELECT %(site)s, %(type)s, %(day)s, k.query_id, k.page_id, k.country, k.device,
       k.clicks, k.impressions, k.position
FROM (
    SELECT queries.id AS query_id, pages.id AS page_id,
           s.country, s.device, s.clicks, s.impressions, s.position
    FROM gsc_stage s
    JOIN queries ON queries.query = s.query
    JOIN pages ON pages.page = s.page
) k
{unchanged}
ORDER BY k.query_id, k.page_id, k.country, k.device
ON CONFLICT (site_id, search_type, date, query_id, page_id, country, device) DO UPDATE
SET clicks = excluded.clicks, impressions = excluded.impressions,
    position = excluded.position
WHERE (r.clicks, r.impressions, r.position)
      IS DISTINCT FROM (excluded.clicks, excluded.impressions, excluded.position)
"""

# A day synced before: rows stored with the same values are left out up front (one probe of
# the primary key each), so they are neither locked nor rewritten, as ON CONFLICT would.
_UNCHANGED = """
    WHERE (SELECT 1 FROM gsc_rows x
           WHERE x.site_id = %(site)s AND x.search_type = %(type)s AND x.date = %(day)s
             AND x.query_id = k.query_id AND x.page_id = k.page_id
             AND x.country = k.country AND x.device = k.device
             AND x.clicks = k.clicks AND x.impressions = k.impressions
             AND x.position = k.position) IS NULL"""

_INSERT_ROWS = _UPSERT_ROWS.format(unchanged="")
_RESYNC_ROWS = _UPSERT_ROWS.format(unchanged=_UNCHANGED)

# (JIT off too: the disabled scans' huge costs would make every page statement compile.)
_PROBE_PLANS = "SET LOCAL enable_seqscan = off; SET LOCAL jit = off"
# The day's anti-join (rare: only when rows went away) compares every stored row of the day
# with the day's keys: by hash, never a nested loop over a day whose statistics say "one row".
_WHOLE_DAY_PLANS = "SET LOCAL enable_seqscan = on; SET LOCAL enable_nestloop = off"

_DELETE_UNSEEN = """
DELETE FROM gsc_rows r
WHERE r.site_id = %(site)s AND r.search_type = %(type)s AND r.date = %(day)s
  AND NOT EXISTS (
    SELECT 1 FROM gsc_stage_keys s
    JOIN gsc_queries q ON q.site_id = %(site)s AND q.query = s.query
    JOIN gsc_pages p ON p.site_id = %(site)s AND p.page = s.page
    WHERE q.id = r.query_id AND p.id = r.page_id
      AND s.country = r.country AND s.device = r.device
  )
"""

_STORED_COUNT = """
SELECT row_count FROM gsc_days WHERE site_id = %(site)s AND search_type = %(type)s
  AND date = %(day)s
"""

_DAY_COUNT = """
SELECT count(*) FROM gsc_rows WHERE site_id = %(site)s AND search_type = %(type)s
  AND date = %(day)s
"""

_DELETE_TOTALS = """
DELETE FROM gsc_totals WHERE site_id = %(site)s AND search_type = %(type)s AND date = %(day)s
"""

_INSERT_TOTALS = """
INSERT INTO gsc_totals (site_id, search_type, date, country, device, clicks, impressions,
                        position)
SELECT %(site)s, %(type)s, %(day)s, country, device, sum(clicks), sum(impressions),
       coalesce(sum(position * impressions) / nullif(sum(impressions), 0), avg(position))
FROM gsc_stage_totals GROUP BY country, device
"""

# The day's per-query and per-page sums, rewritten when any row of the day changed.
_ROLLUPS = [
    """DELETE FROM gsc_query_days
       WHERE site_id = %(site)s AND search_type = %(type)s AND date = %(day)s""",
    """INSERT INTO gsc_query_days (site_id, search_type, date, query_id, clicks, impressions,
                                  position)
       SELECT %(site)s, %(type)s, %(day)s, query_id, sum(clicks), sum(impressions),
              coalesce(sum(position * impressions) / nullif(sum(impressions), 0), avg(position))
       FROM gsc_rows WHERE site_id = %(site)s AND search_type = %(type)s AND date = %(day)s
       GROUP BY query_id""",
    """DELETE FROM gsc_page_days
       WHERE site_id = %(site)s AND search_type = %(type)s AND date = %(day)s""",
    """INSERT INTO gsc_page_days (site_id, search_type, date, page_id, clicks, impressions,
                                 position)
       SELECT %(site)s, %(type)s, %(day)s, page_id, sum(clicks), sum(impressions),
              coalesce(sum(position * impressions) / nullif(sum(impressions), 0), avg(position))
       FROM gsc_rows WHERE site_id = %(site)s AND search_type = %(type)s AND date = %(day)s
       GROUP BY page_id""",
]

_RECORD_DAY = """
INSERT INTO gsc_days (site_id, search_type, date, provisional, row_count, synced_at)
VALUES (%(site)s, %(type)s, %(day)s, %(provisional)s, %(rows)s, now())
ON CONFLICT (site_id, search_type, date) DO UPDATE
SET provisional = excluded.provisional, row_count = excluded.row_count,
    synced_at = excluded.synced_at
"""


def key_text(value: str) -> str:
    """A query or page as stored: no NUL (PostgreSQL text cannot hold it), bounded length."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if len(value) > MAX_KEY_CHARS:
        digest = hashlib.sha256(value.encode()).hexdigest()[:16]
        value = f"{value[: MAX_KEY_CHARS - 20]}…#{digest}"
    return value


@dataclass(slots=True)
class DayWritten:
    rows: int  # rows Google sent for the day
    inserted: int
    updated: int
    deleted: int


class DayWriter:
    """One (property, search type, day) being written; see the module's steps."""

    def __init__(self, session: Session, *, site_id: int, search_type: int, day: dt.date) -> None:
        self._connection = driver_connection(session)
        self._params: dict[str, Any] = {"site": site_id, "type": search_type, "day": day}
        self.rows = self.written = 0  # rows sent; rows inserted or changed
        self._connection.execute(_CREATE_STAGE)
        stored = self._connection.execute(_STORED_COUNT, self._params).fetchone()
        self._before = int(stored[0]) if stored else 0
        self._connection.execute(_PROBE_PLANS)

    def add_rows(self, rows: Sequence[Any]) -> None:
        """A page of rows of dimensions [date, query, page, country, device], as Google
        sends them: staged, then upserted (steps 1-4)."""
        connection = self._connection
        connection.execute("TRUNCATE gsc_stage")
        with (
            connection.cursor() as cursor,
            cursor.copy(
                "COPY gsc_stage (query, page, country, device, clicks, impressions, position)"
                " FROM STDIN"
            ) as copy,
        ):
            write = copy.write_row
            try:
                for row in rows:
                    keys = row["keys"]
                    query = keys[1]
                    page = keys[2]
                    if len(query) > MAX_KEY_CHARS or "\x00" in query:
                        query = key_text(query)
                    if len(page) > MAX_KEY_CHARS or "\x00" in page:
                        page = key_text(page)
                    write(
                        (
                            query,
                            page,
                            keys[3],
                            keys[4],
                            int(row["clicks"]),
                            int(row["impressions"]),
                            float(row["position"]),
                        )
                    )
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise TransientJobError(
                    f"Search Console sent a malformed row ({type(exc).__name__}: {exc})",
                    category="provider_error",
                ) from exc
        self.rows += len(rows)
        params = self._params
        connection.execute(_NEW_QUERIES, params)
        connection.execute(_NEW_PAGES, params)
        try:
            upsert = _RESYNC_ROWS if self._before else _INSERT_ROWS
            self.written += connection.execute(upsert, params).rowcount
        except psycopg.errors.CardinalityViolation as exc:
            raise PermanentJobError(
                "Search Console sent the same row twice for one day; the day was not stored",
                category="provider_error",
            ) from exc
        if self._before:
            connection.execute(_KEEP_KEYS)

    def add_totals(self, rows: Sequence[Any]) -> None:
        """Rows of dimensions [date, country, device]: the property's totals."""
        with (
            self._connection.cursor() as cursor,
            cursor.copy(
                "COPY gsc_stage_totals (country, device, clicks, impressions, position) FROM STDIN"
            ) as copy,
        ):
            try:
                for row in rows:
                    keys = row["keys"]
                    copy.write_row(
                        (
                            keys[1],
                            keys[2],
                            int(row["clicks"]),
                            int(row["impressions"]),
                            float(row["position"]),
                        )
                    )
            except (KeyError, IndexError, TypeError, ValueError) as exc:
                raise TransientJobError(
                    f"Search Console sent a malformed totals row ({type(exc).__name__}: {exc})",
                    category="provider_error",
                ) from exc

    def finish(self, *, provisional: bool) -> DayWritten:
        """Steps 5-7; the caller commits."""
        connection, params = self._connection, self._params
        # Rows stored now: a first write of the day stored what it wrote; otherwise the day's
        # count (an index-only scan), unless nothing was written, leaving what was there.
        if not self._before:
            stored = self.written
        elif self.written:
            row = connection.execute(_DAY_COUNT, params).fetchone()
            stored = int(row[0]) if row else 0
        else:
            stored = self._before
        inserted = stored - self._before
        deleted = 0
        # More rows than Google sent means some went away (never when the day had no rows
        # before, so the keys were kept whenever they are needed).
        if stored > self.rows:
            connection.execute(_WHOLE_DAY_PLANS)
            deleted = connection.execute(_DELETE_UNSEEN, params).rowcount
        if self.written or deleted:
            connection.execute(_WHOLE_DAY_PLANS)
            for statement in _ROLLUPS:
                connection.execute(statement, params)
        connection.execute(_DELETE_TOTALS, params)
        connection.execute(_INSERT_TOTALS, params)
        connection.execute(_RECORD_DAY, {**params, "provisional": provisional, "rows": self.rows})
        return DayWritten(
            rows=self.rows, inserted=inserted, updated=self.written - inserted, deleted=deleted
        )
