"""Reading an uploaded export from disk and writing what it holds, in batches.

The file is decoded as it is read (TextIOWrapper over the binary file, which is also where
the bytes read come from for progress) and cut into chunks of a few hundred kilobytes at row
boundaries (chunks.py), so memory holds a few chunks and batches, never the file. A
chunk's rows are split by the csv module (or, for a file whose every field is quoted, as
Ahrefs writes them, by quoted.py for fewer instructions), validated and encoded into binary
COPY rows a column at a time (copyrows.py, with rows.py's reader for the rows it doubts).

For a large file of links a second process parses chunks too (helper.py): whichever of the
two is free takes the next chunk, and the results are taken in the file's order, so rows,
line numbers, merges and rejections are those of one reading. Batches are written by a
thread on its own connection (store.py), overlapping the parsing: at most one batch waits
between them.
"""

import csv
import gc
import queue
import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain
from pathlib import Path
from typing import Any, Protocol

import psycopg

from app.core.logging import get_logger
from app.links import store
from app.links.chunks import (
    READ_ROWS,
    Chunk,
    ChunkResult,
    InOrder,
    ReadBatch,
    RowSyntax,
    parse_chunk,
    read_chunks,
)
from app.links.encoding import FileEncoding, open_text
from app.links.formats import ColumnPlan, FormatKind, LinkField
from app.links.helper import HelperGoneError, ParseHelper
from app.links.helper_process import HelperSetup, link_reader
from app.links.quoted import all_quoted
from app.links.rows import KEPT_REJECTIONS, RejectedRow, StagedSummary, SummaryRowReader

BATCH_ROWS = 10_000
# Each field of a row may be this long (the csv module's default, 128 KiB, is kept: a
# longer field is a broken quote swallowing the file, rejected rather than buffered).
FIELD_SIZE_LIMIT = 128 * 1024
_KEPT_FIELD_CHARS = 300
# Chunks of the text parsed apart (chunks.py): about a thousand rows each. Larger chunks
# cost memory in both processes (measured: 512 Ki characters, 14 MB more at the peak of a
# 100 MB import) and saved little time.
CHUNK_CHARS = 1 << 18
# How far past its size a chunk looks for a line end outside quotes before ending anyway.
CHUNK_REACH = 1 << 20
# Chunks at the helper at once (one being parsed, the next ones waiting in its pipe, so it
# never waits for this process), and chunks read beyond the oldest one not yet taken
# (their text and results held meanwhile).
HELPER_DEPTH = 3
AHEAD = 4

logger = get_logger(__name__)

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
                del batch  # not held while the next one is awaited
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
        payload = batch.payload
        if direct:
            try:
                written = store.insert_new_links(connection, payload, batch.count)
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
    use_helper: bool = False,
    chunk_chars: int = CHUNK_CHARS,
) -> ImportTally:
    """Reads the whole file and writes it; returns the tally. `progress` may raise (a
    cancel): the writer then stops after its batch, and what was committed stays.
    `use_helper`: a second process parses chunks of a links file (not of a summary)."""
    csv.field_size_limit(FIELD_SIZE_LIMIT)
    plan = source.plan
    summary = plan.format.kind is FormatKind.summary
    total = source.path.stat().st_size
    tally = ImportTally()
    # Started first: it starts its interpreter while this process connects.
    helper = _start_helper() if use_helper and not summary else None
    finished = False
    # The loop allocates millions of tuples and lists, none in a cycle: the cyclic collector
    # would only rescan the batches held (a third of the loop's time, measured).
    collecting = gc.isenabled()
    gc.disable()
    try:
        connection = connect()
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
            try:
                _read_file(
                    source,
                    target,
                    created=created,
                    tally=tally,
                    submit=writer.submit,
                    helper=helper,
                    report=lambda done: progress(done, total),
                    batch_rows=batch_rows,
                    chunk_chars=chunk_chars,
                )
            finally:
                writer.close()
        finally:
            connection.close()
        tally.new, tally.updated = writer.new, writer.updated
        finished = True
        progress(total, total)
    finally:
        if helper is not None:
            helper.close(kill=not finished)
        if collecting:
            gc.enable()
    return tally


def _start_helper() -> ParseHelper | None:
    try:
        return ParseHelper()
    except OSError as exc:  # no process to be had: this one parses alone
        logger.warning("links_import_helper_not_started", error=str(exc))
        return None


def _read_file(
    source: ImportSource,
    target: ImportTarget,
    *,
    created: datetime,
    tally: ImportTally,
    submit: Callable[[Any], None],
    helper: ParseHelper | None,
    report: Callable[[int], None],
    batch_rows: int,
    chunk_chars: int,
) -> None:
    plan = source.plan
    read_rows = min(READ_ROWS, batch_rows)
    binary, text = open_text(source.path, source.encoding)
    with binary, text:
        first = text.readline()
        syntax = RowSyntax(
            source.delimiter,
            all_quoted(first, source.delimiter),
            FIELD_SIZE_LIMIT,
            terminator=first[len(first.rstrip("\r\n")) :] or "\n",
        )
        # The header row (recognised before the job started), read as rows are read: a
        # quoted field may span lines.
        header = syntax.rows(chain((first,), iter(text.readline, "")))
        next(header, None)
        read: ReadBatch
        taker: _Taker
        if plan.format.kind is FormatKind.summary:
            summaries = _SummaryTaker(plan, submit)
            read, taker = summaries.read, summaries
        else:
            setup = HelperSetup(
                syntax=syntax,
                plan=plan,
                site_url=target.site_url,
                include_subdomains=target.include_subdomains,
                project_id=target.project_id.bytes,
                created=created,
                read_rows=read_rows,
            )
            read, taker = link_reader(setup), _LinkTaker(submit, batch_rows)
            if helper is not None:
                helper.setup(setup)

        def parse(chunk_text: str, final: bool) -> ChunkResult:
            return parse_chunk(chunk_text, syntax, read, final=final, batch_rows=read_rows)

        results = _OrderedResults(parse, taker, tally, plan, report, batch_rows, header.line_num)
        for chunk in read_chunks(text, binary.tell, size=chunk_chars, reach=CHUNK_REACH):
            if helper is not None and helper.alive and helper.busy < HELPER_DEPTH:
                helper.send(chunk.text, final=chunk.final)
                results.add(chunk, None)
            else:
                results.add(chunk, parse(chunk.text, chunk.final))
            results.take_ready(helper, ahead=AHEAD)
        results.take_ready(helper, ahead=0)
        taker.finish()


class _Taker(Protocol):
    def add(self, item: Any) -> None:
        """What a read batch read to (ReadBatch's first answer)."""

    def finish(self) -> None:
        """After the last rows."""


class _OrderedResults:
    """The chunks' results, taken in the file's order (a helper's when it answers): their
    rows to the taker, their rejections (with the file's line numbers) to the tally."""

    def __init__(
        self,
        parse: Callable[[str, bool], ChunkResult],
        taker: _Taker,
        tally: ImportTally,
        plan: ColumnPlan,
        report: Callable[[int], None],
        batch_rows: int,
        first_line: int,
    ) -> None:
        """`parse(text, final)`: a chunk parsed here; `first_line`: the header's lines."""
        self._parse = parse
        self._taker = taker
        self._tally = tally
        self._plan = plan
        self._report = report
        self._batch_rows = batch_rows
        self._pending: deque[tuple[Chunk, ChunkResult | None]] = deque()
        self._in_order = InOrder(parse, first_line)
        self._reported = 0

    def add(self, chunk: Chunk, result: ChunkResult | None) -> None:
        """A chunk, with its result or (None) with the helper."""
        self._pending.append((chunk, result))

    def take_ready(self, helper: ParseHelper | None, *, ahead: int) -> None:
        """Takes the results in order while they are there; waits for the helper's while
        more than `ahead` chunks are pending."""
        while self._pending:
            chunk, result = self._pending[0]
            if result is None:
                assert helper is not None
                result = self._helper_result(helper, chunk, wait=len(self._pending) > ahead)
                if result is None:
                    return
            self._pending.popleft()
            self._take(chunk, result)

    def _helper_result(
        self, helper: ParseHelper, chunk: Chunk, *, wait: bool
    ) -> ChunkResult | None:
        try:
            return helper.result(wait=wait)
        except HelperGoneError:
            # Its chunks are parsed here instead: the same rows.
            return self._parse(chunk.text, chunk.final)

    def _take(self, chunk: Chunk, result: ChunkResult) -> None:
        result, before = self._in_order.take(chunk, result)
        for line, reason, fields in result.rejections:
            self._tally.reject(before + line, reason, fields, self._plan)
        for item in result.reads:
            self._taker.add(item)
        self._tally.rows += result.rows
        if self._tally.rows - self._reported >= self._batch_rows:
            self._reported = self._tally.rows
            self._report(chunk.end_byte)


@dataclass(frozen=True, slots=True)
class _LinkBatch:
    """A batch for the writer: its binary COPY data, each link once, and the links in it."""

    payload: bytes
    count: int


class _LinkTaker:
    """Read batches of links into write batches of about `batch_rows`; a link met again
    starts a new write batch (which merges it with the stored one)."""

    def __init__(self, submit: Callable[[Any], None], batch_rows: int) -> None:
        self.submit = submit
        self.batch_rows = batch_rows
        self.links: dict[bytes, bytes] = {}  # COPY row by key

    def add(self, item: tuple[list[bytes], list[bytes]]) -> None:
        keys, rows = item
        if not self.links.keys().isdisjoint(keys):
            self.finish()
        self.links.update(zip(keys, rows, strict=True))
        if len(self.links) >= self.batch_rows:
            self.finish()

    def finish(self) -> None:
        """Submits the batch, its rows in the order of their keys: the primary key's index
        is then filled a page after another rather than at random (measured: PostgreSQL's
        COPY of batches of 10,000 took about a third less time sorted)."""
        links = self.links
        if links:
            self.links = {}
            count = len(links)
            payload = store.copy_payload([links[key] for key in sorted(links)])
            del links  # not held while the writer is awaited
            self.submit(_LinkBatch(payload, count))


class _SummaryTaker:
    def __init__(self, plan: ColumnPlan, submit: Callable[[Any], None]) -> None:
        self._row = SummaryRowReader(plan).read
        self.submit = submit
        self.batch: list[StagedSummary] = []

    def read(self, rows: list[list[str]]) -> tuple[Any, list[tuple[int, str]]]:
        staged: list[StagedSummary] = []
        rejected: list[tuple[int, str]] = []
        for i, fields in enumerate(rows):
            try:
                staged.append(self._row(fields))
            except RejectedRow as exc:
                rejected.append((i, str(exc)))
        return staged, rejected

    def add(self, item: list[StagedSummary]) -> None:
        self.batch += item

    def finish(self) -> None:
        if self.batch:
            self.submit(self.batch)
            self.batch = []
