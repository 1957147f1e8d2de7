"""Writing one synced day: dictionary ids resolved per page, binary COPY, set-based upserts.

A day is written in the caller's transaction (one per day, so a day is all there or not at
all), under a transaction-level advisory lock on (property, type, day): two syncs of the same
day take turns, and the second sees what the first committed. For each page of rows, as it
arrives (the sync fetches and decodes the next page meanwhile, sync.py):

0. a page sent exactly as when the day was last written (same digest of its rows' JSON at
   the same place, `gsc_days.page_digests`) is stored unchanged: it is skipped, not even
   decoded, so a re-run of final data writes nothing. Should the day's rows then not add up
   to the rows sent (rows went away, whose keys only the skipped pages would tell), the day
   is written again with every page (PagesChangedError, handled by sync.py);
1. the page's queries and pages not seen yet this day are looked up in the dictionaries
   (`gsc_queries`, `gsc_pages`) by their unique index, once per distinct value, and the ones
   missing are added (`RETURNING` their ids); the ids live in Python for the day only (an id
   added in a transaction that rolls back must not outlive it);
2. a day with no rows stored (the first sync of a day, every backfill day) gets the page by a
   binary COPY straight into `gsc_rows`: no staging, no `ON CONFLICT` (whose speculative
   insertion and row locks cost as much again as the insert). Its primary key still refuses a
   key sent twice: the transaction is then rolled back and the day written again by step 3
   (DuplicateRowsError, handled by sync.py), which is how Google's rows were always merged;
3. a day synced before gets the page by a binary COPY into `gsc_stage_rows` (temporary,
   emptied per page), then `INSERT ... SELECT ... ON CONFLICT DO UPDATE`; rows stored with the
   same values are left out up front (one primary-key probe each), so a re-run of final data
   locks and rewrites nothing. The page's keys are kept in `gsc_stage_row_keys`.

Then, at the end of the day:

4. rows of the day Google no longer sends (a provisional day's rows whose key changed) are
   deleted: the anti-join against `gsc_stage_row_keys` runs only when the day's counts say
   some are there (more rows stored than sent);
5. when any row of the day changed, its per-query and per-page sums are rewritten: summed
   over the stored rows, or, for a day copied straight in, summed by the writer as the rows
   went by (Python, while the server inserts: no second pass over the day at its end);
6. the day's totals are replaced and the day recorded in `gsc_days`, with its pages' row
   counts and digests when the rows stored are exactly the pages' rows.

So any re-run of a day leaves the same rows. No row-by-row ORM anywhere on this path. The
day's commit does not wait for the WAL flush (`synchronous_commit` off for it): a day lost
to a server crash is simply not recorded as synced, and the next sync fetches it again.
"""

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from sqlmodel import Session

from app.core.db import driver_connection
from app.gsc.client import SearchPage, SearchRow
from app.jobs.errors import PermanentJobError, TransientJobError

# A dictionary value is a key of a unique btree index (at most ~2,700 bytes a key): longer
# queries or URLs keep their start and a digest of the whole, so they stay distinct.
MAX_KEY_CHARS = 512

_CREATE_STAGE = """
SET LOCAL synchronous_commit = off;
CREATE TEMP TABLE IF NOT EXISTS gsc_stage_rows (
    query_id integer NOT NULL, page_id integer NOT NULL,
    country varchar(8) COLLATE "C" NOT NULL, device varchar(8) COLLATE "C" NOT NULL,
    clicks integer NOT NULL, impressions integer NOT NULL, position double precision NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS gsc_stage_row_keys (
    query_id integer NOT NULL, page_id integer NOT NULL,
    country varchar(8) COLLATE "C" NOT NULL, device varchar(8) COLLATE "C" NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS gsc_stage_totals (
    country text COLLATE "C" NOT NULL, device text COLLATE "C" NOT NULL,
    clicks integer NOT NULL, impressions integer NOT NULL, position double precision NOT NULL
) ON COMMIT DELETE ROWS;
TRUNCATE gsc_stage_rows, gsc_stage_row_keys, gsc_stage_totals;
"""

_LOCK_DAY = "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))"

# The dictionary lookups are probes of the unique index (sequential scans are off for the
# page statements, _PROBE_PLANS: statistics lag far behind a dictionary growing by thousands
# of entries a page). New values are added in one statement; a value another transaction
# added meanwhile is skipped by ON CONFLICT and found by a second lookup.
_FIND = {
    "query": "SELECT query, id FROM gsc_queries WHERE site_id = %s AND query = ANY(%b)",
    "page": "SELECT page, id FROM gsc_pages WHERE site_id = %s AND page = ANY(%b)",
}
_ADD = {
    "query": "INSERT INTO gsc_queries (site_id, query) SELECT %s, v FROM unnest(%b::text[]) v"
    " ON CONFLICT (site_id, query) DO NOTHING RETURNING query, id",
    "page": "INSERT INTO gsc_pages (site_id, page) SELECT %s, v FROM unnest(%b::text[]) v"
    " ON CONFLICT (site_id, page) DO NOTHING RETURNING page, id",
}

_ROW_COLUMNS = "query_id, page_id, country, device, clicks, impressions, position"
_ROW_TYPES = ["int4", "int4", "text", "text", "int4", "int4", "float8"]
_COPY_NEW_ROWS = (
    f"COPY gsc_rows (site_id, search_type, date, {_ROW_COLUMNS}) FROM STDIN (FORMAT BINARY)"
)
_NEW_ROW_TYPES = ["int4", "int2", "date", *_ROW_TYPES]
_COPY_STAGE = f"COPY gsc_stage_rows ({_ROW_COLUMNS}) FROM STDIN (FORMAT BINARY)"

# Rows of a page that are new or changed, in primary-key order; rows stored with the same
# values are left out up front (one probe of the primary key each: a scalar subquery, so the
# plan never turns it into a join over the whole day), so they are neither locked nor
# rewritten, as ON CONFLICT would.
_UPSERT_ROWS = """
INSERT INTO gsc_rows AS r (site_id, search_type, date, query_id, page_id, country, device,
                           clicks, impressions, position)
SELECT %(site)s, %(type)s, %(day)s, k.query_id, k.page_id, k.country, k.device,
       k.clicks, k.impressions, k.position
FROM gsc_stage_rows k
WHERE (SELECT 1 FROM gsc_rows x
       WHERE x.site_id = %(site)s AND x.search_type = %(type)s AND x.date = %(day)s
         AND x.query_id = k.query_id AND x.page_id = k.page_id
         AND x.country = k.country AND x.device = k.device
         AND x.clicks = k.clicks AND x.impressions = k.impressions
         AND x.position = k.position) IS NULL
ORDER BY k.query_id, k.page_id, k.country, k.device
ON CONFLICT (site_id, search_type, date, query_id, page_id, country, device) DO UPDATE
SET clicks = excluded.clicks, impressions = excluded.impressions,
    position = excluded.position
WHERE (r.clicks, r.impressions, r.position)
      IS DISTINCT FROM (excluded.clicks, excluded.impressions, excluded.position)
"""

_KEEP_KEYS = """
INSERT INTO gsc_stage_row_keys (query_id, page_id, country, device)
SELECT query_id, page_id, country, device FROM gsc_stage_rows
"""

# (JIT off too: the disabled scans' huge costs would make every page statement compile.)
_PROBE_PLANS = "SET LOCAL enable_seqscan = off; SET LOCAL jit = off"
# The day's anti-join (rare: only when rows went away) compares every stored row of the day
# with the day's keys: by hash, never a nested loop over a day whose statistics say "one row".
_WHOLE_DAY_PLANS = "SET LOCAL enable_seqscan = on; SET LOCAL enable_nestloop = off"

_DELETE_UNSEEN = """
DELETE FROM gsc_rows r
WHERE r.site_id = %(site)s AND r.search_type = %(type)s AND r.date = %(day)s
  AND NOT EXISTS (
    SELECT 1 FROM gsc_stage_row_keys s
    WHERE s.query_id = r.query_id AND s.page_id = r.page_id
      AND s.country = r.country AND s.device = r.device
  )
"""

_STORED_DAY = """
SELECT row_count, page_rows, page_digests FROM gsc_days
WHERE site_id = %(site)s AND search_type = %(type)s AND date = %(day)s
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

# The day's per-query and per-page sums, rewritten when any row of the day changed: summed
# from the stored rows, or, for a day copied straight in, by the writer as the rows went by
# (copied in, _COPY_SUMS).
_DELETE_SUMS = [
    """DELETE FROM gsc_query_days
       WHERE site_id = %(site)s AND search_type = %(type)s AND date = %(day)s""",
    """DELETE FROM gsc_page_days
       WHERE site_id = %(site)s AND search_type = %(type)s AND date = %(day)s""",
]
_SUM_ROWS = [
    """INSERT INTO gsc_query_days (site_id, search_type, date, query_id, clicks, impressions,
                                  position)
       SELECT %(site)s, %(type)s, %(day)s, query_id, sum(clicks), sum(impressions),
              coalesce(sum(position * impressions) / nullif(sum(impressions), 0), avg(position))
       FROM gsc_rows WHERE site_id = %(site)s AND search_type = %(type)s AND date = %(day)s
       GROUP BY query_id""",
    """INSERT INTO gsc_page_days (site_id, search_type, date, page_id, clicks, impressions,
                                 position)
       SELECT %(site)s, %(type)s, %(day)s, page_id, sum(clicks), sum(impressions),
              coalesce(sum(position * impressions) / nullif(sum(impressions), 0), avg(position))
       FROM gsc_rows WHERE site_id = %(site)s AND search_type = %(type)s AND date = %(day)s
       GROUP BY page_id""",
]
_COPY_SUMS = {
    "query": "COPY gsc_query_days (site_id, search_type, date, query_id, clicks, impressions,"
    " position) FROM STDIN (FORMAT BINARY)",
    "page": "COPY gsc_page_days (site_id, search_type, date, page_id, clicks, impressions,"
    " position) FROM STDIN (FORMAT BINARY)",
}
_SUM_TYPES = ["int4", "int2", "date", "int4", "int4", "int4", "float8"]

_RECORD_DAY = """
INSERT INTO gsc_days (site_id, search_type, date, provisional, row_count, synced_at,
                      page_rows, page_digests)
VALUES (%(site)s, %(type)s, %(day)s, %(provisional)s, %(rows)s, now(),
        %(page_rows)s::integer[], %(page_digests)s::bytea[])
ON CONFLICT (site_id, search_type, date) DO UPDATE
SET provisional = excluded.provisional, row_count = excluded.row_count,
    synced_at = excluded.synced_at, page_rows = excluded.page_rows,
    page_digests = excluded.page_digests
"""

_MALFORMED = (KeyError, IndexError, TypeError, ValueError, OverflowError)


def key_text(value: str) -> str:
    """A query or page as stored: no NUL (PostgreSQL text cannot hold it), bounded length."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    if len(value) > MAX_KEY_CHARS:
        digest = hashlib.sha256(value.encode()).hexdigest()[:16]
        value = f"{value[: MAX_KEY_CHARS - 20]}…#{digest}"
    return value


class RewriteDayError(Exception):
    """The day's transaction is lost: write the day again from its first page with
    `upsert=True` (every page through the stage, none skipped)."""


class DuplicateRowsError(RewriteDayError):
    """A day written without ON CONFLICT met a key already stored (sent twice by Google, or
    stored without the day being recorded)."""


class PagesChangedError(RewriteDayError):
    """Pages were skipped as stored unchanged, but the day's rows do not add up to the rows
    Google sent (some went away, or a key was sent twice): the keys of the skipped pages
    are needed to tell which rows to delete."""


@dataclass(slots=True)
class DayWritten:
    rows: int  # rows Google sent for the day
    inserted: int
    updated: int
    deleted: int
    unchanged_pages: int = 0  # pages skipped as stored unchanged


class DayWriter:
    """One (property, search type, day) being written; see the module's steps. `upsert`
    writes every page through the stage and ON CONFLICT, whatever is stored."""

    def __init__(
        self,
        session: Session,
        *,
        site_id: int,
        search_type: int,
        day: dt.date,
        upsert: bool = False,
    ) -> None:
        self._connection = connection = driver_connection(session)
        self._site, self._type, self._day = site_id, search_type, day
        self._params: dict[str, Any] = {"site": site_id, "type": search_type, "day": day}
        self.rows = self.written = 0  # rows sent; rows inserted or changed
        # Ids of the queries and pages met this day, by the text Google sent.
        self._ids: dict[str, dict[str, int]] = {"query": {}, "page": {}}
        # A day copied straight in: its sums per query and per page id, as [clicks,
        # impressions, sum of position * impressions, sum of positions, rows].
        self._sums: dict[str, dict[int, list[float]]] = {"query": {}, "page": {}}
        connection.execute(_LOCK_DAY, (f"gsc_day:{site_id}:{search_type}:{day.isoformat()}",))
        connection.execute(_CREATE_STAGE)
        # The pages as the day was last written (step 0): their rows and digests.
        self._known_rows: list[int] = []
        self._known_digests: list[bytes] = []
        if upsert:
            row = connection.execute(_DAY_COUNT, self._params).fetchone()
        else:
            row = connection.execute(_STORED_DAY, self._params).fetchone()
            if row and row[1] is not None and row[2] is not None:
                self._known_rows, self._known_digests = list(row[1]), list(row[2])
        self._before = int(row[0]) if row else 0
        # This write's pages, and how many of them were skipped as stored unchanged.
        self._page_rows: list[int] = []
        self._page_digests: list[bytes] = []
        self.skipped = 0
        # Nothing stored: pages are copied straight into gsc_rows (step 2).
        self._direct = not upsert and not self._before
        connection.execute(_PROBE_PLANS)

    def _resolve(self, kind: str, values: set[str]) -> dict[str, int]:
        """Ids of `values` (queries or pages as Google sent them), every one found in the
        dictionary or added to it (step 1)."""
        known = self._ids[kind]
        missing = [value for value in values if value not in known]
        if not missing:
            return known
        # The text as stored is the text sent, but for the rare value key_text shortens.
        altered = {
            value: key_text(value)
            for value in missing
            if len(value) > MAX_KEY_CHARS or "\x00" in value
        }
        keys = list({altered.get(value, value) for value in missing}) if altered else missing
        connection, site = self._connection, self._site
        ids: dict[str, int] = dict(connection.execute(_FIND[kind], (site, keys)).fetchall())
        if len(ids) < len(keys):
            new = [key for key in keys if key not in ids]
            ids.update(connection.execute(_ADD[kind], (site, new)).fetchall())
            if len(ids) < len(keys):  # added by another transaction since the lookup
                rest = [key for key in keys if key not in ids]
                ids.update(connection.execute(_FIND[kind], (site, rest)).fetchall())
        if len(ids) < len(keys):
            lost = next(key for key in keys if key not in ids)
            raise TransientJobError(
                f"Search Console {kind} {lost[:80]!r} could not be added to the dictionary"
            )
        if altered:
            ids.update((value, ids[key]) for value, key in altered.items())
        known.update(ids)
        return known

    def holds(self, number: int, digest: bytes | None) -> bool:
        """Whether page `number` (counting pages with rows from 0) is stored unchanged: the
        day was last written with a page of this digest there. Reads only what __init__
        read, so the thread fetching pages may ask."""
        known = self._known_digests
        return digest is not None and number < len(known) and known[number] == digest

    def add_page(self, page: SearchPage) -> None:
        """A page of rows (step 0, then `add_rows`): skipped when the day holds it unchanged."""
        digest = page.digest
        if digest is None:
            return  # no rows
        number = len(self._page_digests)
        if self.holds(number, digest):
            count = self._known_rows[number]
            self.rows += count
            self.skipped += 1
        else:
            rows = page.rows or []
            count = len(rows)
            self.add_rows(rows)
        self._page_rows.append(count)
        self._page_digests.append(digest)

    def add_rows(self, rows: Sequence[SearchRow]) -> None:
        """A page of rows of dimensions [date, query, page, country, device], as Google
        sends them: resolved to ids, then copied or upserted (steps 1-3)."""
        try:
            query_ids = self._resolve("query", {row.keys[1] for row in rows})
            page_ids = self._resolve("page", {row.keys[2] for row in rows})
        except _MALFORMED as exc:
            raise _malformed(exc) from exc
        if self._direct:
            self._copy_new(rows, query_ids, page_ids)
        else:
            self._upsert(rows, query_ids, page_ids)
        self.rows += len(rows)

    def _copy_new(
        self, rows: Sequence[SearchRow], query_ids: dict[str, int], page_ids: dict[str, int]
    ) -> None:
        site, search_type, day = self._site, self._type, self._day
        query_sums, page_sums = self._sums["query"], self._sums["page"]
        try:
            with (
                self._connection.cursor() as cursor,
                cursor.copy(_COPY_NEW_ROWS) as copy,
            ):
                copy.set_types(_NEW_ROW_TYPES)
                write = copy.write_row
                try:
                    for row in rows:
                        keys = row.keys
                        query_id = query_ids[keys[1]]
                        page_id = page_ids[keys[2]]
                        clicks = int(row.clicks)
                        impressions = int(row.impressions)
                        position = row.position
                        write(
                            (
                                site,
                                search_type,
                                day,
                                query_id,
                                page_id,
                                keys[3],
                                keys[4],
                                clicks,
                                impressions,
                                position,
                            )
                        )
                        weighted = position * impressions
                        sums = query_sums.get(query_id)
                        if sums is None:
                            query_sums[query_id] = [clicks, impressions, weighted, position, 1]
                        else:
                            sums[0] += clicks
                            sums[1] += impressions
                            sums[2] += weighted
                            sums[3] += position
                            sums[4] += 1
                        sums = page_sums.get(page_id)
                        if sums is None:
                            page_sums[page_id] = [clicks, impressions, weighted, position, 1]
                        else:
                            sums[0] += clicks
                            sums[1] += impressions
                            sums[2] += weighted
                            sums[3] += position
                            sums[4] += 1
                except _MALFORMED as exc:
                    raise _malformed(exc) from exc
        except psycopg.errors.UniqueViolation as exc:
            raise DuplicateRowsError(str(exc)) from exc
        self.written += len(rows)

    def _copy_sums(self) -> None:
        """The sums of a day copied straight in, as the SQL of _SUM_ROWS computes them."""
        site, search_type, day = self._site, self._type, self._day
        for kind, sums in self._sums.items():
            with self._connection.cursor() as cursor, cursor.copy(_COPY_SUMS[kind]) as copy:
                copy.set_types(_SUM_TYPES)
                for key, (clicks, impressions, weighted, positions, count) in sums.items():
                    position = weighted / impressions if impressions else positions / count
                    copy.write_row(
                        (site, search_type, day, key, int(clicks), int(impressions), position)
                    )

    def _upsert(
        self, rows: Sequence[SearchRow], query_ids: dict[str, int], page_ids: dict[str, int]
    ) -> None:
        connection = self._connection
        connection.execute("TRUNCATE gsc_stage_rows")
        with connection.cursor() as cursor, cursor.copy(_COPY_STAGE) as copy:
            copy.set_types(_ROW_TYPES)
            write = copy.write_row
            try:
                for row in rows:
                    keys = row.keys
                    write(
                        (
                            query_ids[keys[1]],
                            page_ids[keys[2]],
                            keys[3],
                            keys[4],
                            int(row.clicks),
                            int(row.impressions),
                            row.position,
                        )
                    )
            except _MALFORMED as exc:
                raise _malformed(exc) from exc
        try:
            self.written += connection.execute(_UPSERT_ROWS, self._params).rowcount
        except psycopg.errors.CardinalityViolation as exc:
            raise PermanentJobError(
                "Search Console sent the same row twice for one day; the day was not stored",
                category="provider_error",
            ) from exc
        connection.execute(_KEEP_KEYS)

    def add_totals(self, rows: Iterable[SearchRow]) -> None:
        """Rows of dimensions [date, country, device]: the property's totals."""
        with (
            self._connection.cursor() as cursor,
            cursor.copy(
                "COPY gsc_stage_totals (country, device, clicks, impressions, position) FROM STDIN"
            ) as copy,
        ):
            try:
                for row in rows:
                    keys = row.keys
                    copy.write_row(
                        (keys[1], keys[2], int(row.clicks), int(row.impressions), row.position)
                    )
            except _MALFORMED as exc:
                raise _malformed(exc, "totals row") from exc

    def finish(self, *, provisional: bool) -> DayWritten:
        """Steps 4-6; the caller commits."""
        connection, params = self._connection, self._params
        # Rows stored now: a first write of the day stored what it wrote; otherwise the day's
        # count (an index-only scan), unless nothing was written, leaving what was there.
        if self._direct:
            stored = self.written
        elif self.written:
            row = connection.execute(_DAY_COUNT, params).fetchone()
            stored = int(row[0]) if row else 0
        else:
            stored = self._before
        if self.skipped and stored != self.rows:
            raise PagesChangedError(
                f"{self.skipped} pages were stored unchanged, but the day holds {stored} rows"
                f" for the {self.rows} sent"
            )
        inserted = stored - self._before
        deleted = 0
        # More rows than Google sent means some went away (never when the day was copied
        # straight in, so the keys were kept whenever they are needed).
        if stored > self.rows:
            connection.execute(_WHOLE_DAY_PLANS)
            deleted = connection.execute(_DELETE_UNSEEN, params).rowcount
        if self.written or deleted:
            connection.execute(_WHOLE_DAY_PLANS)
            for statement in _DELETE_SUMS:
                connection.execute(statement, params)
            if self._direct:
                self._copy_sums()
            else:
                for statement in _SUM_ROWS:
                    connection.execute(statement, params)
        connection.execute(_DELETE_TOTALS, params)
        connection.execute(_INSERT_TOTALS, params)
        # The pages are remembered when the rows stored are exactly theirs (no key sent twice).
        exact = stored - deleted == self.rows
        connection.execute(
            _RECORD_DAY,
            {
                **params,
                "provisional": provisional,
                "rows": self.rows,
                "page_rows": self._page_rows if exact else None,
                "page_digests": self._page_digests if exact else None,
            },
        )
        return DayWritten(
            rows=self.rows,
            inserted=inserted,
            updated=self.written - inserted,
            deleted=deleted,
            unchanged_pages=self.skipped,
        )


def _malformed(exc: Exception, what: str = "row") -> TransientJobError:
    return TransientJobError(
        f"Search Console sent a malformed {what} ({type(exc).__name__}: {exc})",
        category="provider_error",
    )
