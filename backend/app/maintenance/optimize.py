"""The weekly database optimization: `VACUUM (ANALYZE)` of every table a domain declares large
(`large_tables` in its domain.py), one table at a time, each reported on its own.

VACUUM cannot run inside a transaction block, so it runs on a connection of its own in
autocommit mode, never on a pooled one (the next borrower would inherit its timeouts). Each
table's VACUUM is bounded by a statement timeout (OPTIMIZE_DB_STATEMENT_TIMEOUT_SECONDS,
shortened to what is left of the job's time) and waits at most OPTIMIZE_DB_LOCK_TIMEOUT_SECONDS
for its lock. A table that is locked, missing or too slow is reported and the next one goes
on; what stops the run is only a cancel (seen between tables), the end of its time, or the
database going away (the job's ordinary transient failure).
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import psycopg
from psycopg import errors, sql

from app.core.config import settings
from app.core.db import libpq_dsn
from app.core.domains import declared_domains, large_tables

# What a table's VACUUM needs at least of the job's remaining time to be started.
MIN_TABLE_SECONDS = 1.0


class TableOutcome(StrEnum):
    vacuumed = "vacuumed"
    locked = "locked"  # another session held it longer than the lock timeout
    timed_out = "timed_out"  # the statement timeout stopped the VACUUM (nothing is lost)
    interrupted = "interrupted"  # cancelled from outside (pg_cancel_backend)
    skipped = "skipped"  # the server skipped it with a warning (e.g. not its owner)
    missing = "missing"  # no such table
    out_of_time = "out_of_time"  # not started: the job's time was used up


@dataclass(frozen=True, slots=True)
class TableResult:
    table: str
    outcome: TableOutcome
    seconds: float
    dead_tuples_before: int | None
    dead_tuples_after: int | None
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "outcome": self.outcome.value}

    def summary(self) -> str:
        if self.outcome is TableOutcome.vacuumed:
            return (
                f"{self.table}: vacuumed in {self.seconds:.1f} s, dead tuples "
                f"{self.dead_tuples_before} -> {self.dead_tuples_after}"
            )
        return f"{self.table}: {self.outcome.value.replace('_', ' ')}"


def declared_large_tables() -> list[str]:
    """The tables the optimization works through, in the domains' declaration order."""
    return large_tables(declared_domains())


# relid, not relname: the same name may exist in several schemas; to_regclass follows the
# search path like the VACUUM does, and is NULL for a missing table (no row).
_DEAD_TUPLES = "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relid = to_regclass(%s)"


def _dead_tuples(connection: psycopg.Connection[Any], table: str) -> int | None:
    name = sql.Identifier(table).as_string(connection)
    row = connection.execute(_DEAD_TUPLES, (name,)).fetchone()
    return None if row is None else int(row[0])


def _connect(lock_timeout_seconds: float) -> psycopg.Connection[Any]:
    options = f"-c lock_timeout={int(lock_timeout_seconds * 1000)} -c TimeZone=UTC"
    return psycopg.connect(
        libpq_dsn(settings.DATABASE_URL),
        autocommit=True,  # VACUUM refuses to run in a transaction block
        options=options,
        application_name="seo-platform optimize-db",  # what pg_stat_activity shows
    )


def _vacuum(
    connection: psycopg.Connection[Any], table: str, timeout_seconds: float, warnings: list[str]
) -> TableResult:
    before = _dead_tuples(connection, table)
    if before is None:
        return TableResult(table, TableOutcome.missing, 0.0, None, None, "no such table")
    connection.execute(
        "SELECT set_config('statement_timeout', %s, false)",
        (str(max(1, int(timeout_seconds * 1000))),),
    )
    warnings.clear()
    started = time.monotonic()
    outcome, detail = TableOutcome.vacuumed, None
    try:
        connection.execute(sql.SQL("VACUUM (ANALYZE) {}").format(sql.Identifier(table)))
    except errors.LockNotAvailable as exc:
        outcome, detail = TableOutcome.locked, exc.diag.message_primary
    except errors.QueryCanceled as exc:
        detail = exc.diag.message_primary
        timeout = detail is not None and "timeout" in detail
        outcome = TableOutcome.timed_out if timeout else TableOutcome.interrupted
    except errors.UndefinedTable as exc:  # dropped since it was looked up
        return TableResult(table, TableOutcome.missing, 0.0, None, None, exc.diag.message_primary)
    seconds = round(time.monotonic() - started, 3)
    if outcome is TableOutcome.vacuumed and warnings:
        # VACUUM skips (rather than refuses) a table it may not touch, with a warning.
        outcome, detail = TableOutcome.skipped, "; ".join(warnings)
    return TableResult(table, outcome, seconds, before, _dead_tuples(connection, table), detail)


def optimize_tables(
    *,
    tables: Sequence[str],
    on_progress: Callable[[int, int, str], None] | None = None,
    on_table_done: Callable[[TableResult], None] | None = None,
    deadline: float | None = None,
    statement_timeout_seconds: float | None = None,
    lock_timeout_seconds: float | None = None,
) -> list[TableResult]:
    """VACUUM (ANALYZE) of each table in turn; returns one result per table, in order.

    `on_progress(tables_done, tables_total, message)` is called before each table and after
    it (the job's progress and cancellation checkpoint: raising there stops the run between
    two tables); `on_table_done(result)` after each. `deadline` (time.monotonic()) caps every
    table's statement timeout; tables it leaves less than MIN_TABLE_SECONDS for are not
    started and reported out_of_time."""
    per_table = statement_timeout_seconds or settings.OPTIMIZE_DB_STATEMENT_TIMEOUT_SECONDS
    lock_timeout = lock_timeout_seconds or settings.OPTIMIZE_DB_LOCK_TIMEOUT_SECONDS
    results: list[TableResult] = []
    warnings: list[str] = []

    def collect(notice: psycopg.errors.Diagnostic) -> None:
        if notice.severity_nonlocalized == "WARNING" and notice.message_primary:
            warnings.append(notice.message_primary)

    with _connect(lock_timeout) as connection:
        connection.add_notice_handler(collect)
        for done, table in enumerate(tables):
            if on_progress is not None:
                on_progress(done, len(tables), f"{table}: vacuuming")
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left < MIN_TABLE_SECONDS:
                result = TableResult(table, TableOutcome.out_of_time, 0.0, None, None)
            else:
                timeout = per_table if left is None else min(per_table, left)
                result = _vacuum(connection, table, timeout, warnings)
            results.append(result)
            if on_table_done is not None:
                on_table_done(result)
            if on_progress is not None:
                on_progress(done + 1, len(tables), result.summary())
    return results
