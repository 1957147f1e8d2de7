"""Keywords as people bring them: pasted lines (one keyword a line, the form's country,
language, device and tags for all) or a CSV file (`keyword,country,language,device,tags`,
with or without that header; `location` may be a column too; empty cells take the form's
values; tags separated by `|` or `;`). Each candidate keeps its line number for the report.
"""

import csv
import io
from dataclasses import dataclass, field
from typing import Any

MAX_BULK_BYTES = 1024 * 1024
MAX_BULK_LINES = 10_000
CSV_COLUMNS = ("keyword", "country", "language", "device", "tags", "location")
HEADER_ALIASES = {
    "keyword": "keyword",
    "keywords": "keyword",
    "text": "keyword",
    "query": "keyword",
}


class BulkInputError(ValueError):
    """The input as a whole cannot be read (too large, not text, no keyword column)."""


@dataclass(frozen=True, slots=True)
class KeywordDefaults:
    country: str | None = None
    language: str | None = None
    device: str = "desktop"
    location: str | None = None
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Candidate:
    line: int
    text: str  # as given, for the report
    fields: dict[str, Any]


def split_tags(value: str) -> list[str]:
    return [tag for tag in value.replace(";", "|").split("|") if tag.strip()]


def _defaults(defaults: KeywordDefaults) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "country": defaults.country,
        "language": defaults.language,
        "device": defaults.device,
        "location": defaults.location,
        "tags": list(defaults.tags),
    }
    return {name: value for name, value in fields.items() if value is not None}


def _decode(data: bytes) -> str:
    if len(data) > MAX_BULK_BYTES:
        raise BulkInputError(f"the file is larger than {MAX_BULK_BYTES // 1024} KB")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # spreadsheet "Unicode text" exports
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise BulkInputError("the file starts like UTF-16 but is not") from exc
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_lines(text: str, defaults: KeywordDefaults) -> list[Candidate]:
    """One keyword per non-blank line."""
    if len(text.encode()) > MAX_BULK_BYTES:
        raise BulkInputError(f"the input is larger than {MAX_BULK_BYTES // 1024} KB")
    candidates: list[Candidate] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        candidates.append(Candidate(number, line.strip(), {**_defaults(defaults), "text": line}))
        if len(candidates) > MAX_BULK_LINES:
            raise BulkInputError(f"at most {MAX_BULK_LINES} keywords at once")
    return candidates


def parse_csv(data: bytes, defaults: KeywordDefaults) -> list[Candidate]:
    text = _decode(data)
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    rows = csv.reader(io.StringIO(text), delimiter=_delimiter(first_line))
    columns: list[str] = list(CSV_COLUMNS)
    candidates: list[Candidate] = []
    first = True
    for row in rows:
        number = rows.line_num  # the file's line, even after quoted newlines
        cells = [cell.strip() for cell in row]
        if not any(cells):
            continue
        if first:
            first = False
            names = [HEADER_ALIASES.get(c.lower(), c.lower()) for c in cells]
            if "keyword" in names:
                columns = names
                continue
        values = dict(zip(columns, cells, strict=False))
        fields = _defaults(defaults)
        for name in ("country", "language", "device", "location"):
            if values.get(name):
                fields[name] = values[name]
        if values.get("tags"):
            fields["tags"] = split_tags(values["tags"])
        fields["text"] = values.get("keyword", "")
        candidates.append(Candidate(number, fields["text"], fields))
        if len(candidates) > MAX_BULK_LINES:
            raise BulkInputError(f"at most {MAX_BULK_LINES} keywords at once")
    return candidates
