"""A file whose every field is quoted is split line by line (quoted.py) into exactly the
rows, line numbers and errors the csv module gives."""

import csv
import io

import pytest

from app.links.quoted import QuotedRows, all_quoted

LINES = [
    '"h1"\t"h2"\t"h3"\r\n',
    '"a"\t"b"\t"c"\r\n',
    '"two\r\n',
    'lines"\t"b"\t"c"\r\n',
    '"doubled ""quote"""\t"b"\t"c"\r\n',
    'unquoted\t"b"\tc\r\n',
    "\r\n",
    '"a"x\t"b"\t"c"\r\n',
    '""\t""\t""\r\n',
    '"tab\tinside"\t"b"\t"c"\n',
    '"stray " quote"\t"b"\r\n',
    '"' + "x" * 200 + '"\t"b"\t"c"\r\n',
    '"short"\r\n',
    '"last"\t"row"\t"no end"',
]


def _rows(reader: object, limit: int) -> list[object]:
    """Each row with the line number after it, or the error, until the end."""
    out: list[object] = []
    old = csv.field_size_limit(limit)
    try:
        while True:
            try:
                row = next(reader)  # type: ignore[call-overload]
            except StopIteration:
                return out
            except csv.Error as exc:
                out.append(("error", str(exc), reader.line_num))  # type: ignore[attr-defined]
            else:
                out.append((row, reader.line_num))  # type: ignore[attr-defined]
    finally:
        csv.field_size_limit(old)


@pytest.mark.parametrize("limit", [128 * 1024, 100])
def test_rows_and_line_numbers_are_the_csv_modules(limit: int) -> None:
    text = "".join(LINES)
    expected = _rows(csv.reader(io.StringIO(text, newline=""), delimiter="\t"), limit)
    split = _rows(QuotedRows(iter(io.StringIO(text, newline="")), "\t", limit), limit)
    assert split == expected
    assert any(r[0] == "error" for r in expected) == (limit == 100)


def test_a_file_whose_header_is_all_quoted() -> None:
    assert all_quoted('\ufeff"Referring page URL"\t"Target URL"\r\n', "\t")
    assert all_quoted('"Source url","Target url"\n', ",")
    assert not all_quoted("Source url,Target url\n", ",")
    assert not all_quoted('"Source url",Target url\n', ",")
    assert not all_quoted('"', ",")
