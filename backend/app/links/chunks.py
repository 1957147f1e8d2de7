"""An export's text in chunks that can be parsed apart (in two processes at once), with the
same rows, line numbers and rejections as one reading of the whole file.

A chunk ends where a line ends after an even count of quote characters since the chunk
began: in a file quoted as CSV writers quote (a quoted field opens and closes with one
quote, a quote inside it is doubled), no quoted field is open there, so the next row starts
on the next line. That is a guess, never trusted: a chunk is parsed with a sentinel line
after it, and the boundary holds only when the sentinel comes back as a row of its own (a
quoted field left open would have swallowed it). When it does not (a stray quote in an
unquoted field, as in `24" screen`, shifts the count), the chunk's last unfinished row is
dropped and parsed again with the next chunk's text, in the process that reads the results
in order; the next chunk's own result is discarded. A chunk that finds no such line end
within `reach` characters past its size ends at any line end, and the sentinel decides.

Line numbers in a result are the chunk's own (its first line is 1); the reader of the
results adds the lines of the chunks before it.
"""

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate, chain, islice
from typing import Any, Final, Protocol

from app.links.quoted import QuotedRows, line_breaks, split_quoted
from app.links.rows import KEPT_REJECTIONS

# A line no export holds: a noncharacter, no quote, no delimiter.
SENTINEL: Final = "\ufdd0end of chunk\ufdd0"
_SENTINEL_ROW: Final = [SENTINEL]
# Rows are read in small batches (their cells still in the processor's caches when each
# column is read: measured, a third less time per row than batches of 10,000).
READ_ROWS = 500

# A batch of rows -> (what it reads to, [(index in the batch, why rejected)]).
ReadBatch = Callable[[list[list[str]]], tuple[Any, list[tuple[int, str]]]]


@dataclass(slots=True)
class Chunk:
    text: str
    end_byte: int  # the file's position once the chunk was read (progress)
    final: bool  # the chunk reaches the end of the file


@dataclass(frozen=True, slots=True)
class RowSyntax:
    """How the rows of a file are split: its delimiter, whether every field is quoted
    (then quoted.py splits the plain lines), and the longest field read."""

    delimiter: str
    all_quoted: bool
    field_limit: int
    terminator: str = "\n"  # how the header line ends (the rows' line end, most likely)

    def rows(self, lines: Iterator[str]) -> Any:
        if self.all_quoted:
            return QuotedRows(lines, self.delimiter, self.field_limit)
        return csv.reader(lines, delimiter=self.delimiter)


@dataclass(slots=True)
class ChunkResult:
    """What a chunk's rows read to, in order: one item per read batch; the rejected rows
    (line, reason, fields: kept for the first rejections only); the rows (blank lines not
    counted) and lines read. `clean` is False when the chunk ended inside a row: that row,
    from line `tail_line`, is not in the result."""

    reads: list[Any] = field(default_factory=list)
    rejections: list[tuple[int, str, list[str]]] = field(default_factory=list)
    rows: int = 0
    lines: int = 0
    clean: bool = True
    tail_line: int = 0

    def take(self, batch: list[list[str]], lines: "_Lines", read: ReadBatch) -> None:
        if not batch:
            return
        self.rows += len(batch)
        item, rejected = read(batch)
        self.reads.append(item)
        for i, reason in rejected:
            self._reject(lines[i], reason, batch[i])

    def unreadable(self, line: int, error: csv.Error) -> None:
        self.rows += 1
        self._reject(line, f"unreadable row: {error}", [])

    def _reject(self, line: int, reason: str, fields: list[str]) -> None:
        kept = fields if len(self.rejections) < KEPT_REJECTIONS else []
        self.rejections.append((line, reason, kept))


class _Lines(Protocol):
    def __getitem__(self, index: int, /) -> int:
        """The line of the batch's row `index`."""


class _SplitLines:
    """The first lines of rows split whole (split_quoted), counted when first asked: only
    rejected rows need theirs."""

    def __init__(self, rows: list[list[str]], start: int, numbers: list[int]) -> None:
        self._rows = rows
        self._start = start
        self._numbers = numbers  # shared by a chunk's batches, filled on first use

    def __getitem__(self, index: int) -> int:
        if not self._numbers:
            # Joined by a quote (as they are in the file, by quotes and a delimiter): a
            # field ending in `\r` and the next starting with `\n` are two line ends.
            spans = (1 + line_breaks('"'.join(row)) for row in self._rows[:-1])
            self._numbers.extend(accumulate(spans, initial=1))
        return self._numbers[self._start + index]


def read_chunks(
    text: io.TextIOBase, position: Callable[[], int], *, size: int, reach: int
) -> Iterator[Chunk]:
    """The rest of `text` in chunks of about `size` characters (`position`: the bytes read
    from the file so far)."""
    block = text.read(size)
    while block:
        parity = block.count('"') & 1
        parts = [block]
        extra = 0
        while parity or not parts[-1].endswith("\n"):
            if extra > reach:
                break
            line = text.readline()
            if not line:
                break
            parts.append(line)
            extra += len(line)
            parity ^= line.count('"') & 1
        chunk_text = "".join(parts) if len(parts) > 1 else block
        end_byte = position()
        block = text.read(size)
        yield Chunk(text=chunk_text, end_byte=end_byte, final=not block)


def parse_chunk(
    text: str, syntax: RowSyntax, read: ReadBatch, *, final: bool, batch_rows: int = READ_ROWS
) -> ChunkResult:
    """The chunk's rows read in batches of `batch_rows`. A chunk that is not the file's last
    is read with the sentinel after it, to find whether its end is a row's end."""
    if syntax.all_quoted:
        rows = split_quoted(text, syntax.delimiter, syntax.terminator, syntax.field_limit)
        if rows is not None:
            return _parse_split(text, rows, read, batch_rows)
    lines: Iterator[str] = io.StringIO(text, newline="")
    if not final:
        lines = chain(lines, (SENTINEL + "\n",))
    reader = syntax.rows(lines)
    result = ChunkResult()
    batch: list[list[str]] = []
    numbers: list[int] = []
    last_line = 0
    error_line = 0  # the line of an unreadable row, while nothing has been read after it
    while True:
        try:
            for fields in reader:
                line = last_line + 1
                last_line = reader.line_num
                if not fields:
                    continue  # a blank line
                error_line = 0
                # A full batch is read when the next row comes: the chunk's last row is
                # always in the batch left at the end, where the sentinel is looked for.
                if len(batch) >= batch_rows:
                    result.take(batch, numbers, read)
                    batch, numbers = [], []
                batch.append(fields)
                numbers.append(line)
            break
        except csv.Error as exc:
            # A row the csv module cannot read (a field over the size limit): rejected after
            # the rows before it, and reading goes on from the next line.
            result.take(batch, numbers, read)
            batch, numbers = [], []
            line = last_line + 1
            last_line = reader.line_num
            result.unreadable(line, exc)
            error_line = line
    if final:
        result.lines = last_line
    elif not error_line and batch and batch[-1] == _SENTINEL_ROW:
        batch.pop()
        numbers.pop()
        result.lines = last_line - 1
    else:
        # The sentinel was swallowed by the last row (or by an unreadable one): that row
        # is read again with the next chunk.
        result.clean = False
        if error_line:
            result.rejections.pop()
            result.rows -= 1
            result.tail_line = error_line
        else:
            batch.pop()
            result.tail_line = numbers.pop()
    result.take(batch, numbers, read)
    return result


def _parse_split(text: str, rows: list[list[str]], read: ReadBatch, batch_rows: int) -> ChunkResult:
    """A chunk split whole: every row complete, so its end is a row's end."""
    result = ChunkResult()
    numbers: list[int] = []
    for start in range(0, len(rows), batch_rows):
        batch = rows[start : start + batch_rows]
        result.take(batch, _SplitLines(rows, start, numbers), read)
    result.lines = line_breaks(text) + (not text.endswith(("\n", "\r")))
    return result


def _lines_from(text: str, line: int) -> str:
    """The text from its line `line` (1 is the first) on."""
    return "".join(islice(io.StringIO(text, newline=""), line - 1, None))


class InOrder:
    """The results of a file's chunks, taken in order, made whole: when a chunk ended inside
    a row, that row is read again with the next chunk's text (whose own result, read from
    the middle of a row, is discarded). Tracks the file's line each chunk starts on."""

    def __init__(self, parse: Callable[[str, bool], ChunkResult], first_line: int) -> None:
        """`parse(text, final)`; `first_line`: the file's lines before the first chunk."""
        self._parse = parse
        self._lines_before = first_line
        self._carry: str | None = None

    def take(self, chunk: Chunk, result: ChunkResult) -> tuple[ChunkResult, int]:
        """The chunk's result as a reading of the whole file gives it, and the file's
        lines before its line 1."""
        text = chunk.text
        if self._carry is not None:
            text = self._carry + text
            self._carry = None
            result = self._parse(text, chunk.final)
        before = self._lines_before
        if result.clean:
            self._lines_before = before + result.lines
        else:
            self._carry = _lines_from(text, result.tail_line)
            self._lines_before = before + result.tail_line - 1
        return result, before
