"""A file cut into chunks and parsed chunk by chunk (chunks.py) reads to exactly the rows,
line numbers and unreadable rows of one csv.reader pass over it, wherever the cuts fall:
inside quoted fields spanning lines, after a stray quote, between `\\r` and `\\n`."""

import csv
import io
from collections.abc import Iterator

import pytest

from app.links.chunks import (
    Chunk,
    ChunkResult,
    InOrder,
    RowSyntax,
    parse_chunk,
    read_chunks,
)
from app.links.quoted import split_quoted

FIELD_LIMIT = 60

CSV_TEXT = "".join(
    [
        "a,b,c\r\n",
        '"quoted, comma",2,3\r\n',
        '"two\r\nlines",x,y\r\n',
        '"doubled ""quote""",x,y\n',
        "\r\n",
        '24" screen,stray,quote\n',
        'next,"also\nspans",z\n',
        "mac\rline\rends\r",
        '"odd "" count\n',
        '""",z\n',
        "x" * 70 + ",too,long\n",
        '"' + "y" * 70 + '",too,long\n',
        "after,the,errors\n",
        "\n",
        '"unclosed at the end,1,2\nstill\n',
    ]
)

QUOTED_TEXT = "".join(
    [
        '"a"\t"b"\t"c"\r\n',
        '"anchor over\r\ntwo lines"\t"b"\t"c"\r\n',
        '"plain"\t"row"\t"here"\r\n',
        '"doubled ""quote"""\t"b"\t"c"\r\n',
        'unquoted\t"b"\tc\r\n',
        "\r\n",
        '"tab\tinside"\t"b"\t"c"\r\n',
        '"' + "z" * 70 + '"\t"long"\t"field"\r\n',
        '"three\r\nline\r\nanchor"\t""\t""\r\n',
        '"ends in cr\r"\t"\nstarts with lf"\t"c"\r\n',
        '"last"\t"row"\t"no line end"',
    ]
)


def _seen(rows: list[list[str]]) -> tuple[object, list[tuple[int, str]]]:
    """A read that rejects every row, its fields as the reason: rejections carry each row's
    line and fields."""
    return None, [(i, repr(fields)) for i, fields in enumerate(rows)]


def _expected(text: str, delimiter: str) -> list[tuple[int, str]]:
    """(line, row or error) of one csv.reader pass, as ingest reads: a row has the line it
    starts on, blank lines are skipped, an unreadable row is reported and reading goes on."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[int, str]] = []
    last = 0
    while True:
        try:
            for fields in reader:
                line, last = last + 1, reader.line_num
                if fields:
                    out.append((line, repr(fields)))
            return out
        except csv.Error as exc:
            line, last = last + 1, reader.line_num
            out.append((line, f"unreadable row: {exc}"))


def _chunked(text: str, syntax: RowSyntax, size: int, reach: int) -> list[tuple[int, str]]:
    def parse(chunk_text: str, final: bool) -> ChunkResult:
        return parse_chunk(chunk_text, syntax, _seen, final=final, batch_rows=2)

    in_order = InOrder(parse, first_line=0)
    out: list[tuple[int, str]] = []
    chunks: Iterator[Chunk] = read_chunks(
        io.StringIO(text, newline=""), lambda: 0, size=size, reach=reach
    )
    for chunk in chunks:
        result, before = in_order.take(chunk, parse(chunk.text, chunk.final))
        out.extend((before + line, reason) for line, reason, _fields in result.rejections)
    return out


@pytest.fixture(autouse=True)
def _field_limit() -> Iterator[None]:
    old = csv.field_size_limit(FIELD_LIMIT)
    yield
    csv.field_size_limit(old)


@pytest.mark.parametrize("reach", [0, 7, 10_000])
def test_csv_rows_and_lines_are_those_of_one_reading(reach: int) -> None:
    expected = _expected(CSV_TEXT, ",")
    assert any(reason.startswith("unreadable") for _, reason in expected)
    syntax = RowSyntax(",", all_quoted=False, field_limit=FIELD_LIMIT)
    for size in [*range(1, 40), 64, 100, 10_000]:
        assert _chunked(CSV_TEXT, syntax, size, reach) == expected, (size, reach)


@pytest.mark.parametrize("reach", [0, 7, 10_000])
def test_all_quoted_rows_and_lines_are_those_of_one_reading(reach: int) -> None:
    expected = _expected(QUOTED_TEXT, "\t")
    syntax = RowSyntax("\t", all_quoted=True, field_limit=FIELD_LIMIT, terminator="\r\n")
    for size in [*range(1, 40), 64, 100, 10_000]:
        assert _chunked(QUOTED_TEXT, syntax, size, reach) == expected, (size, reach)


def test_a_chunk_of_plain_quoted_rows_is_split_whole() -> None:
    """Rows whose every field is quoted and holds no quote are split in two calls a row;
    anything else (a doubled quote, an unquoted field, a blank line, a long field) is not."""
    plain = '"a"\t"b"\r\n"multi\r\nline"\t""\r\n"x"\t"y"\r\n'
    assert split_quoted(plain, "\t", "\r\n", FIELD_LIMIT) == [
        ["a", "b"],
        ["multi\r\nline", ""],
        ["x", "y"],
    ]
    assert split_quoted('"a"\t"b"', "\t", "\r\n", FIELD_LIMIT) == [["a", "b"]]
    for other in (
        '"a"\t"b ""c"""\r\n',
        '"a"\tb\r\n',
        '"a"\t"b"\r\n\r\n"c"\t"d"\r\n',
        '"a"\t"b"\n"c"\t"d"\r\n',
        '"' + "z" * 70 + '"\t"b"\r\n',
        'a\t"b"\r\n',
    ):
        assert split_quoted(other, "\t", "\r\n", FIELD_LIMIT) is None, other


def test_a_chunk_that_ends_inside_a_row_says_so() -> None:
    """The sentinel read after a chunk is swallowed by a quoted field left open: the
    chunk's last row is then left out, with the line it starts on."""
    syntax = RowSyntax(",", all_quoted=False, field_limit=FIELD_LIMIT)
    result = parse_chunk('a,b\n"open,\nfield\n', syntax, _seen, final=False)
    assert not result.clean
    assert result.tail_line == 2
    assert [line for line, _, _ in result.rejections] == [1]
    whole = parse_chunk("a,b\nc,d\n", syntax, _seen, final=False)
    assert whole.clean
    assert whole.lines == 2
    assert [line for line, _, _ in whole.rejections] == [1, 2]
