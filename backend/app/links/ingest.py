"""Reading an uploaded export from disk and writing what it holds, in batches.

The file is decoded as it is read (TextIOWrapper over the binary file, which is also where
the bytes read come from for progress) and parsed by the csv module (or, for a file whose
every field is quoted, as Ahrefs writes them, split by quoted.py for fewer instructions),
so memory holds a few batches, never the file. A batch of rows is validated and encoded
into binary COPY rows a column at a time (copyrows.py, with rows.py's reader for the rows
it doubts); batches are written by a second thread on its own connection (store.py), so
parsing the next batch overlaps the writing of the last one: at most one batch waits
between them.
"""

import csv
import gc
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

import psycopg

from app.links import store
from app.links.copyrows import CopyBatchReader
from app.links.encoding import FileEncoding, open_text
from app.links.formats import ColumnPlan, FormatKind, LinkField
from app.links.models import KEPT_REJECTIONS
from app.links.quoted import QuotedRows, all_quoted
from app.links.rows import (
    LinkRowReader,
    RejectedRow,
    SiteScope,
    StagedSummary,
    SummaryRowReader,
)

BATCH_ROWS = 10_000
# Each field of a row may be this long (the csv module's default, 128 KiB, is kept: a
# longer field is a broken quote swallowing the file, rejected rather than buffered).
FIELD_SIZE_LIMIT = 128 * 1024
_KEPT_FIELD_CHARS = 300

# (bytes read, bytes in all): called after each batch; it may raise to stop the import.
ProgressCallback = Callable[[int, int], None]
Connect = Callable[[], psycopg.Connection[Any]]


@dataclass(slots=True)
class ImportTally:
    rows: int = 0
    rejected: int = 0
    new: int = 0
    updated: int = 0
    rejections: list[dict[str, Any]] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.rows - self.rejected

    def reject(self, line: int, reason: str, fields: list[str], plan: ColumnPlan) -> None:
        self.rejected += 1
        if len(self.rejections) >= KEPT_REJECTIONS:
            return
        kept: dict[str, Any] = {"line": line, "reason": reason}
        for name in (LinkField.source_url, LinkField.target_url):
            position = plan.index.get(name)
            if position is not None and position < len(fields):
                kept[name.value] = fields[position][:_KEPT_FIELD_CHARS]
        self.rejections.append(kept)


@dataclass(frozen=True, slots=True)
class ImportSource:
    """What the import reads: the file, how it is written, and its recognised header."""

    path: Path
    encoding: FileEncoding
    delimiter: str
    plan: ColumnPlan


@dataclass(frozen=True, slots=True)
class ImportTarget:
    """Where it goes: the project (and its site, which targets must be on) and the import."""

    project_id: uuid.UUID
    import_id: uuid.UUID
    site_url: str
    include_subdomains: bool


WriteBatch = Callable[[psycopg.Connection[Any], Any, bool], tuple[int, int]]


class _BatchWriter:
    """Writes batches on its own thread and connection, one transaction per batch. An
    error stops it; the next submit (or close) raises it in the reading thread."""

    _STOP = object()

    def __init__(self, connection: psycopg.Connection[Any], write: WriteBatch) -> None:
        self._connection = connection
        self._write = write
        self._batches: queue.Queue[object] = queue.Queue(maxsize=1)
        self._error: BaseException | None = None
        self.new = 0
        self.updated = 0
        self._thread = threading.Thread(target=self._run, name="links-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        first = True
        while True:
            batch = self._batches.get()
            if batch is self._STOP:
                return
            if self._error is not None:
                continue  # drained, so the reader never blocks on a dead writer
            try:
                new, updated = self._write(self._connection, batch, first)
                self._connection.commit()
            except BaseException as exc:  # handed to the reading thread
                self._error = exc
                self._connection.rollback()
            else:
                first = False
                self.new += new
                self.updated += updated

    def submit(self, batch: Any) -> None:
        self._raise_error()
        self._batches.put(batch)

    def close(self) -> None:
        self._batches.put(self._STOP)
        self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error


def _link_writer(connection: psycopg.Connection[Any], target: "ImportTarget") -> WriteBatch:
    """Batches are copied straight into the table while the project's links are all new (a
    project's first import); from the first batch that meets a link already there (a
    repeat across batches, an earlier or concurrent import), the batch and the rest are
    upserted. A batch holds each link once (copyrows.py merges a repeat within it).

    A failed copy leaves the rows it wrote before the conflict as dead tuples (vacuum's
    work), at most one batch per import: after it, the import upserts."""
    direct = not store.has_links(connection, project_id=target.project_id)
    connection.commit()

    def write(
        connection: psycopg.Connection[Any], batch: _LinkBatch, _first: bool
    ) -> tuple[int, int]:
        nonlocal direct
        payload = store.copy_payload(batch.rows)
        if direct:
            try:
                written = store.insert_new_links(connection, payload, len(batch.rows))
            except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected):
                # A link already there (or a concurrent import copying the same links):
                # nothing of the batch stays, and the upsert waits for the other import.
                connection.rollback()
                direct = False
            else:
                return written, 0
        return store.upsert_links(connection, project_id=target.project_id, payload=payload)

    return write


def _summary_writer(target: "ImportTarget", kind: str) -> WriteBatch:
    def write(
        connection: psycopg.Connection[Any], batch: list[StagedSummary], first: bool
    ) -> tuple[int, int]:
        unique = list({row[0]: row for row in batch}.values())  # a repeated item: the last
        written = store.replace_summary(
            connection,
            project_id=target.project_id,
            import_id=target.import_id,
            kind=kind,
            rows=unique,
            first_batch=first,
        )
        return written, 0

    return write


def ingest(
    source: ImportSource,
    target: ImportTarget,
    *,
    connect: Connect,
    progress: ProgressCallback,
    batch_rows: int = BATCH_ROWS,
) -> ImportTally:
    """Reads the whole file and writes it; returns the tally. `progress` may raise (a
    cancel): the writer then stops after its batch, and what was committed stays."""
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    plan = source.plan
    summary = plan.format.kind is FormatKind.summary
    total = source.path.stat().st_size
    tally = ImportTally()
    connection = connect()
    # The loop allocates millions of tuples and lists, none in a cycle: the cyclic collector
    # would only rescan the batches held (a third of the loop's time, measured).
    collecting = gc.isenabled()
    gc.disable()
    try:
        store.prepare(connection)
        created = store.database_now(connection)
        connection.commit()
        writer = _BatchWriter(
            connection,
            _summary_writer(target, plan.format.name)
            if summary
            else _link_writer(connection, target),
        )
        taker: _Taker = (
            _SummaryTaker(plan, tally, writer.submit)
            if summary
            else _LinkTaker(plan, target, tally, writer.submit, created, batch_rows)
        )
        binary, text = open_text(source.path, source.encoding)
        try:
            with binary, text:
                first = text.readline()
                lines = chain((first,), text)
                _read_rows(
                    QuotedRows(lines, source.delimiter, FIELD_SIZE_LIMIT)
                    if all_quoted(first, source.delimiter)
                    else csv.reader(lines, delimiter=source.delimiter),
                    taker=taker,
                    tally=tally,
                    plan=plan,
                    report=lambda: progress(binary.tell(), total),
                    batch_rows=batch_rows,
                )
        finally:
            writer.close()
        tally.new, tally.updated = writer.new, writer.updated
        progress(total, total)
    finally:
        if collecting:
            gc.enable()
        connection.close()
    return tally


# Rows are read in small batches (their cells still in the processor's caches when each
# column is read: measured, a third less time per row than batches of 10,000), written in
# batches of `batch_rows`.
READ_ROWS = 500


class _Taker(Protocol):
    def take(self, rows: list[list[str]], lines: list[int]) -> None:
        """A batch of rows (the csv module's fields) and their line numbers."""

    def finish(self) -> None:
        """After the last rows."""


@dataclass(slots=True)
class _LinkBatch:
    """A batch for the writer: COPY rows, each link once."""

    rows: list[bytes] = field(default_factory=list)
    keys: set[bytes] = field(default_factory=set)


class _LinkTaker:
    def __init__(
        self,
        plan: ColumnPlan,
        target: ImportTarget,
        tally: ImportTally,
        submit: Callable[[Any], None],
        created: datetime,
        batch_rows: int,
    ) -> None:
        self.reader = CopyBatchReader(
            LinkRowReader(
                plan,
                SiteScope(target.site_url, include_subdomains=target.include_subdomains),
                site_url=target.site_url,
            ),
            project_id=target.project_id.bytes,
            created=created,
        )
        self.plan = plan
        self.tally = tally
        self.submit = submit
        self.batch_rows = batch_rows
        self.batch = _LinkBatch()

    def take(self, rows: list[list[str]], lines: list[int]) -> None:
        read = self.reader.read(rows)
        for i, reason in read.rejected:
            self.tally.reject(lines[i], reason, rows[i], self.plan)
        if not self.batch.keys.isdisjoint(read.keys):
            self.finish()  # a link met again goes in the next batch (which merges it)
        self.batch.rows += read.rows
        self.batch.keys.update(read.keys)
        if len(self.batch.rows) >= self.batch_rows:
            self.finish()

    def finish(self) -> None:
        if self.batch.rows:
            self.submit(self.batch)
            self.batch = _LinkBatch()


class _SummaryTaker:
    def __init__(self, plan: ColumnPlan, tally: ImportTally, submit: Callable[[Any], None]) -> None:
        self.read = SummaryRowReader(plan).read
        self.plan = plan
        self.tally = tally
        self.submit = submit
        self.batch: list[StagedSummary] = []

    def take(self, rows: list[list[str]], lines: list[int]) -> None:
        for fields, line in zip(rows, lines, strict=True):
            try:
                self.batch.append(self.read(fields))
            except RejectedRow as exc:
                self.tally.reject(line, str(exc), fields, self.plan)

    def finish(self) -> None:
        if self.batch:
            self.submit(self.batch)
            self.batch = []


def _read_rows(
    reader: Any,
    *,
    taker: _Taker,
    tally: ImportTally,
    plan: ColumnPlan,
    report: Callable[[], None],
    batch_rows: int,
) -> None:
    """The hot loop: rows gathered in small batches for the taker, progress reported every
    `batch_rows` rows. Line numbers are the file's lines (the header is line 1); a row whose
    quoted field spans lines has the number of its first line."""
    next(reader, None)  # the header, recognised before the job started
    size = min(READ_ROWS, batch_rows)
    batch: list[list[str]] = []
    lines: list[int] = []
    last_line = reader.line_num
    rows = 0
    reported = 0
    while True:
        try:
            for fields in reader:
                line = last_line + 1
                last_line = reader.line_num
                if not fields:
                    continue  # a blank line
                batch.append(fields)
                lines.append(line)
                if len(batch) >= size:
                    rows += len(batch)
                    taker.take(batch, lines)
                    batch, lines = [], []
                    if rows - reported >= batch_rows:
                        reported = rows
                        report()
            break
        except csv.Error as exc:
            # A row the csv module cannot read (a field over the size limit): rejected after
            # the rows before it, and reading goes on from the next line.
            if batch:
                rows += len(batch)
                taker.take(batch, lines)
                batch, lines = [], []
            rows += 1
            line = last_line + 1
            last_line = reader.line_num
            tally.reject(line, f"unreadable row: {exc}", [], plan)
    if batch:
        rows += len(batch)
        taker.take(batch, lines)
    taker.finish()
    tally.rows = rows
