"""Reading an uploaded export from disk and writing what it holds, in batches.

The file is decoded as it is read (TextIOWrapper over the binary file, which is also where
the bytes read come from for progress) and parsed by the csv module, so memory holds a few
batches, never the file. Rows are validated (rows.py); a batch is written by a second
thread on its own connection (store.py), which first merges a link repeated within it
(the reading thread only appends rows), so parsing the next batch overlaps the writing of
the last one: at most one batch waits between them.
"""

import csv
import gc
import queue
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from app.links import store
from app.links.encoding import FileEncoding, open_text
from app.links.formats import ColumnPlan, FormatKind, LinkField
from app.links.models import KEPT_REJECTIONS
from app.links.rows import (
    LinkRowReader,
    RejectedRow,
    SiteScope,
    StagedLink,
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


WriteBatch = Callable[[psycopg.Connection[Any], list[Any], bool], tuple[int, int]]


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
                assert isinstance(batch, list)
                new, updated = self._write(self._connection, batch, first)
                self._connection.commit()
            except BaseException as exc:  # handed to the reading thread
                self._error = exc
                self._connection.rollback()
            else:
                first = False
                self.new += new
                self.updated += updated

    def submit(self, batch: list[Any]) -> None:
        self._raise_error()
        self._batches.put(batch)

    def close(self) -> None:
        self._batches.put(self._STOP)
        self._thread.join()
        self._raise_error()

    def _raise_error(self) -> None:
        if self._error is not None:
            raise self._error


def _merge(earlier: StagedLink, later: StagedLink) -> StagedLink:
    """The same link twice in one batch: the attributes of the more recent sighting (the
    later row when either is undated), the earliest first_seen and the latest last_seen."""
    newer = earlier if (earlier[6] and later[6] and earlier[6] > later[6]) else later
    firsts = [d for d in (earlier[5], later[5]) if d is not None]
    lasts = [d for d in (earlier[6], later[6]) if d is not None]
    return (
        newer[0],
        newer[1],
        newer[2],
        newer[3],
        newer[4],
        min(firsts) if firsts else None,
        max(lasts) if lasts else None,
        newer[7],
        newer[8],
        newer[9],
        newer[10],
        newer[11],
        newer[12],
    )


def _unique(keys: list[bytes], links: list[StagedLink]) -> tuple[list[bytes], list[StagedLink]]:
    """The batch with each link once (by its key), repeats merged in file order."""
    merged: dict[bytes, StagedLink] = {}
    for key, link in zip(keys, links, strict=True):
        earlier = merged.get(key)
        merged[key] = link if earlier is None else _merge(earlier, link)
    return list(merged), list(merged.values())


def _link_writer(connection: psycopg.Connection[Any], target: "ImportTarget") -> WriteBatch:
    """Batches are copied straight into the table while the project's links are all new (a
    project's first import); from the first batch that meets a link already there (a
    repeat across batches, an earlier or concurrent import), the batch and the rest are
    upserted. A link repeated within a batch is merged first (its key, computed here once,
    tells repeats apart at C speed).

    A failed copy leaves the rows it wrote before the conflict as dead tuples (vacuum's
    work), at most one batch per import: after it, the import upserts."""
    direct = not store.has_links(connection, project_id=target.project_id)
    connection.commit()

    def write(
        connection: psycopg.Connection[Any], batch: list[StagedLink], _first: bool
    ) -> tuple[int, int]:
        nonlocal direct
        link_key = store.link_key
        keys = [link_key(link[0], link[1]) for link in batch]
        if len(set(keys)) < len(keys):
            keys, batch = _unique(keys, batch)
        if direct:
            try:
                written = store.insert_new_links(
                    connection, project_id=target.project_id, keys=keys, links=batch
                )
            except (psycopg.errors.UniqueViolation, psycopg.errors.DeadlockDetected):
                # A link already there (or a concurrent import copying the same links):
                # nothing of the batch stays, and the upsert waits for the other import.
                connection.rollback()
                direct = False
            else:
                return written, 0
        return store.upsert_links(connection, project_id=target.project_id, links=batch)

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
    link_reader = (
        None
        if summary
        else LinkRowReader(
            plan,
            SiteScope(target.site_url, include_subdomains=target.include_subdomains),
            site_url=target.site_url,
        )
    )
    read: Callable[[list[str]], Any] = (
        SummaryRowReader(plan).read if link_reader is None else link_reader.read
    )
    total = source.path.stat().st_size
    tally = ImportTally()
    connection = connect()
    # The loop allocates millions of tuples and lists, none in a cycle: the cyclic collector
    # would only rescan the batches held (a third of the loop's time, measured).
    collecting = gc.isenabled()
    gc.disable()
    try:
        store.prepare(connection)
        connection.commit()
        writer = _BatchWriter(
            connection,
            _summary_writer(target, plan.format.name)
            if summary
            else _link_writer(connection, target),
        )
        binary, text = open_text(source.path, source.encoding)
        try:
            with binary, text:
                _read_rows(
                    csv.reader(text, delimiter=source.delimiter),
                    read=read,
                    tally=tally,
                    plan=plan,
                    flush=writer.submit,
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


def _read_rows(
    reader: Any,
    *,
    read: Callable[[list[str]], Any],
    tally: ImportTally,
    plan: ColumnPlan,
    flush: Callable[[list[Any]], None],
    report: Callable[[], None],
    batch_rows: int,
) -> None:
    """The hot loop. Line numbers are the file's lines (the header is line 1); a row whose
    quoted field spans lines has the number of its first line."""
    next(reader, None)  # the header, recognised before the job started
    batch: list[Any] = []
    append = batch.append
    last_line = reader.line_num
    rows = 0
    while True:
        try:
            for fields in reader:
                line = last_line + 1
                last_line = reader.line_num
                if not fields:
                    continue  # a blank line
                rows += 1
                try:
                    row = read(fields)
                except RejectedRow as exc:
                    tally.reject(line, str(exc), fields, plan)
                    continue
                append(row)
                if len(batch) >= batch_rows:
                    flush(batch)
                    batch = []
                    append = batch.append
                    report()
            break
        except csv.Error as exc:
            # A row the csv module cannot read (a field over the size limit): rejected, and
            # reading goes on from the next line.
            rows += 1
            line = last_line + 1
            last_line = reader.line_num
            tally.reject(line, f"unreadable row: {exc}", [], plan)
    if batch:
        flush(batch)
    tally.rows = rows
