"""Which encoding an export is written in, and its header row.

The order (docs: issue "backlinks", item 6): a byte-order mark decides first (Ahrefs writes
UTF-16 LE with one); then strict UTF-8, checked over the whole file in chunks (a file whose
first megabyte is ASCII can still hold a cp1252 accent further down, and 100 MB are
validated in a fraction of a second); then charset-normalizer's guess on a sample; then
cp1252, which decodes nearly any byte.
"""

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from app.links.formats import detect_delimiter

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_CHUNK = 1 << 20
_SAMPLE = 256 * 1024
_SCANNED_CHUNKS = 8
FALLBACK_ENCODING = "cp1252"
# The header row is on the first line; a line longer than this is not a header.
MAX_HEADER_CHARS = 64 * 1024


class UnreadableFileError(ValueError):
    """The file has no header row to read (empty, or binary)."""


@dataclass(frozen=True, slots=True)
class FileEncoding:
    encoding: str  # a Python codec name
    bom_length: int  # bytes to skip before the text


def detect_encoding(path: Path) -> FileEncoding:
    with path.open("rb") as file:
        head = file.read(4)
        for bom, name in _BOMS:
            if head.startswith(bom):
                return FileEncoding(name, len(bom))
        file.seek(0)
        if _is_utf8(file):
            return FileEncoding("utf-8", 0)
        file.seek(0)
        sample = _non_ascii_lines(file)
    return FileEncoding(_guess(sample), 0)


def _non_ascii_lines(file: io.BufferedReader) -> bytes:
    """The lines holding non-ASCII bytes (what tells encodings apart), from the first
    chunks of the file, up to a sample's size."""
    picked: list[bytes] = []
    size = 0
    for _ in range(_SCANNED_CHUNKS):
        chunk = file.read(_CHUNK)
        if not chunk:
            break
        for line in chunk.split(b"\n"):
            if not line.isascii():
                picked.append(line)
                size += len(line)
        if size >= _SAMPLE:
            break
    return b"\n".join(picked)[:_SAMPLE]


def _guess(sample: bytes) -> str:
    """charset-normalizer's guess; among the guesses it finds as good as its best, cp1252
    (what Excel and most Western tools write) wins: on a few accented words, cp1250 and
    cp1252 look alike to it, and most exports are Western.

    Imported here, not with the module: its compiled detectors cost ~3 MB of RSS in every
    worker process, and only a links import whose file is neither marked nor UTF-8 needs
    them (the workers running audits and other jobs never do)."""
    from charset_normalizer import from_bytes

    results = from_bytes(sample)
    best = results.best()
    if best is None or best.encoding in ("utf_8", "ascii"):
        return FALLBACK_ENCODING
    for match in results:
        if (match.chaos, match.coherence) != (best.chaos, best.coherence):
            continue
        if FALLBACK_ENCODING in match.could_be_from_charset:
            return FALLBACK_ENCODING
    return codecs.lookup(best.encoding).name


def _is_utf8(file: io.BufferedReader) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    try:
        while chunk := file.read(_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def open_text(path: Path, encoding: FileEncoding) -> tuple[io.BufferedReader, io.TextIOWrapper]:
    """The binary file (its position is the bytes read, for progress) and its text,
    decoded as it is read; `newline=""` as the csv module needs for newlines in fields."""
    binary = path.open("rb")
    binary.seek(encoding.bom_length)
    text = io.TextIOWrapper(binary, encoding=encoding.encoding, errors="replace", newline="")
    return binary, text


@dataclass(frozen=True, slots=True)
class Header:
    columns: list[str]
    delimiter: str


def read_header(path: Path, encoding: FileEncoding) -> Header:
    """The first line's columns and the delimiter it uses."""
    binary, text = open_text(path, encoding)
    with binary, text:
        line = text.readline(MAX_HEADER_CHARS)
    line = line.lstrip("\ufeff").rstrip("\r\n")
    if not line.strip() or "\x00" in line:
        raise UnreadableFileError(
            "The file has no header row: export the backlinks again as CSV (or Ahrefs' "
            "UTF-16 tab-separated file) and upload that"
        )
    delimiter = detect_delimiter(line)
    columns = next(csv.reader([line], delimiter=delimiter))
    return Header(columns=columns, delimiter=delimiter)
