"""Syncing a property's days: which days a daily sync or a backfill fetches, and one day's
fetch (rows and totals, every page) written in one transaction (storage.py).

Fresh and final data: queries ask `dataState: all`, so the latest days arrive before Google
calls them final; days on or after `metadata.firstIncompleteDate` are recorded provisional,
and the daily sync fetches them again until they are final (storage replaces their rows).
"""

import contextlib
import datetime as dt
import queue
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session

from app.gsc.client import ROW_LIMIT, SearchConsoleClient, SearchPage
from app.gsc.models import SEARCH_TYPES
from app.gsc.storage import DayWriter, DayWritten, RewriteDayError

DIMENSIONS = ("date", "query", "page", "country", "device")
TOTAL_DIMENSIONS = ("date", "country", "device")  # no query/page: nothing anonymised drops
RECENT_DAYS = 3  # re-fetched by every daily sync
FIRST_SYNC_DAYS = 28  # a property's first daily sync (the dashboard's default range)
MAX_CATCHUP_DAYS = 30  # missed days a daily sync fills in; more is a backfill's work


Progress = Callable[[int, int, str], None]  # (days done, days in all, message)
T = TypeVar("T")


def prefetched(items: Iterator[T]) -> Generator[T, None, None]:
    """The items of `items`, each next one produced in a thread while the caller works on the
    current one: the next page is fetched and parsed (Python) while the server upserts this
    one (PostgreSQL, which releases the GIL while it waits). At most one item waits ahead.
    The producer's exceptions are raised here; leaving early stops it."""
    handoff: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(entry: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:  # handed to the consumer, raised there
            put(("error", exc))

    thread = threading.Thread(target=produce, name="gsc-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = handoff.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        thread.join(timeout=60)


def _decoded(pages: Iterator[SearchPage], writer: DayWriter) -> Iterator[SearchPage]:
    """`pages` with their rows decoded (in the prefetching thread), but for the pages the
    writer holds unchanged, which it skips."""
    number = 0
    for page in pages:
        digest = page.digest
        if digest is not None:
            if not writer.holds(number, digest):
                page.decode()
            number += 1
        yield page


@dataclass(frozen=True, slots=True)
class SyncTarget:
    site_id: int
    site_url: str
    search_type: str = "web"

    @property
    def type_code(self) -> int:
        return SEARCH_TYPES.index(self.search_type)


@dataclass(slots=True)
class SyncReport:
    days: int = 0
    skipped: int = 0
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged_pages: int = 0
    provisional: list[str] = field(default_factory=list)

    def add(self, day: dt.date, written: DayWritten, provisional: bool) -> None:
        self.days += 1
        self.rows += written.rows
        self.inserted += written.inserted
        self.updated += written.updated
        self.deleted += written.deleted
        self.unchanged_pages += written.unchanged_pages
        if provisional:
            self.provisional.append(day.isoformat())

    def as_result(self, **extra: Any) -> dict[str, Any]:
        return {
            "days": self.days,
            "skipped_days": self.skipped,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "unchanged_pages": self.unchanged_pages,
            "provisional_days": sorted(self.provisional),
            **extra,
        }


def first_incomplete_date(page: SearchPage) -> dt.date | None:
    metadata = page.metadata
    if not isinstance(metadata, dict):
        return None
    value = metadata.get("firstIncompleteDate") or metadata.get("first_incomplete_date")
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def sync_day(
    *,
    session: Session,
    client: SearchConsoleClient,
    target: SyncTarget,
    day: dt.date,
    checkpoint: Callable[[], None] = lambda: None,
    row_limit: int = ROW_LIMIT,
) -> tuple[DayWritten, bool]:
    """Fetches one day (rows, then totals) and replaces what is stored of it; commits.
    Returns what was written and whether the day is provisional."""
    try:
        return _fetch_and_write(session, client, target, day, checkpoint, row_limit, upsert=False)
    except RewriteDayError:
        # A first write of a day found a key stored twice, or pages skipped as unchanged left
        # rows that went away (see storage.DayWriter): the day is fetched again and every
        # page written against what is stored.
        return _fetch_and_write(session, client, target, day, checkpoint, row_limit, upsert=True)


def _fetch_and_write(
    session: Session,
    client: SearchConsoleClient,
    target: SyncTarget,
    day: dt.date,
    checkpoint: Callable[[], None],
    row_limit: int,
    *,
    upsert: bool,
) -> tuple[DayWritten, bool]:
    body = {
        "startDate": day.isoformat(),
        "endDate": day.isoformat(),
        "dimensions": list(DIMENSIONS),
        "type": target.search_type,
        "dataState": "all",
    }
    incomplete: dt.date | None = None
    try:
        writer = DayWriter(
            session, site_id=target.site_id, search_type=target.type_code, day=day, upsert=upsert
        )
        fetched = client.query_pages(target.site_url, body, row_limit=row_limit)
        pages = prefetched(_decoded(fetched, writer))
        with contextlib.closing(pages):
            for page in pages:
                incomplete = first_incomplete_date(page) or incomplete
                writer.add_page(page)
                del page
                checkpoint()
        totals_body = {**body, "dimensions": list(TOTAL_DIMENSIONS)}
        for page in client.query_pages(target.site_url, totals_body, row_limit=row_limit):
            incomplete = first_incomplete_date(page) or incomplete
            writer.add_totals(page.rows or [])
        provisional = incomplete is not None and day >= incomplete
        written = writer.finish(provisional=provisional)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return written, provisional


def daily_plan(*, session: Session, target: SyncTarget, today: dt.date) -> list[dt.date]:
    """The days a daily sync fetches, newest first: the last RECENT_DAYS, every day still
    provisional, and the days missed since the last final one (at most MAX_CATCHUP_DAYS
    back; a property's first sync takes FIRST_SYNC_DAYS)."""
    end = today - dt.timedelta(days=1)
    oldest = end - dt.timedelta(days=MAX_CATCHUP_DAYS - 1)
    params = {"site": target.site_id, "type": target.type_code, "oldest": oldest}
    last_final = session.execute(
        sa.text(
            "SELECT max(date) FROM gsc_days WHERE site_id = :site AND search_type = :type"
            " AND NOT provisional"
        ),
        params,
    ).scalar()
    if last_final is None:
        start = end - dt.timedelta(days=FIRST_SYNC_DAYS - 1)
    else:
        start = max(last_final + dt.timedelta(days=1), oldest)
    days = {end - dt.timedelta(days=i) for i in range(RECENT_DAYS)}
    days |= {start + dt.timedelta(days=i) for i in range((end - start).days + 1)}
    provisional = session.execute(
        sa.text(
            "SELECT date FROM gsc_days WHERE site_id = :site AND search_type = :type"
            " AND provisional AND date >= :oldest"
        ),
        params,
    ).scalars()
    days |= set(provisional)
    session.commit()
    return sorted((d for d in days if d <= end), reverse=True)


def backfill_plan(*, end: dt.date, days: int) -> list[dt.date]:
    """`days` days back from `end`, newest first."""
    return [end - dt.timedelta(days=i) for i in range(days)]


def finished_since(
    *, session: Session, target: SyncTarget, days: list[dt.date], since: dt.datetime
) -> set[dt.date]:
    """Which of `days` were synced at or after `since` (a resumed backfill skips them)."""
    if not days:
        return set()
    found = session.execute(
        sa.text(
            "SELECT date FROM gsc_days WHERE site_id = :site AND search_type = :type"
            " AND date BETWEEN :first AND :last AND synced_at >= :since"
        ),
        {
            "site": target.site_id,
            "type": target.type_code,
            "first": min(days),
            "last": max(days),
            "since": since,
        },
    ).scalars()
    result = set(found)
    session.commit()
    return result


def run_days(
    *,
    session: Session,
    client: SearchConsoleClient,
    target: SyncTarget,
    days: list[dt.date],
    done: set[dt.date],
    progress: Progress,
    checkpoint: Callable[[], None],
    row_limit: int = ROW_LIMIT,
) -> SyncReport:
    """Syncs `days` in order, skipping those in `done`; progress "day k of n"."""
    report = SyncReport()
    total = len(days)
    for number, day in enumerate(days, 1):
        if day in done:
            report.skipped += 1
            progress(number, total, f"day {number} of {total} ({day.isoformat()}): done before")
            continue
        checkpoint()
        written, provisional = sync_day(
            session=session,
            client=client,
            target=target,
            day=day,
            checkpoint=checkpoint,
            row_limit=row_limit,
        )
        report.add(day, written, provisional)
        progress(number, total, f"day {number} of {total} ({day.isoformat()}): {written.rows} rows")
    return report
