"""A batch of export rows to the rows of a binary COPY into backlinks, column by column.

Reading a row at a time costs a few microseconds of Python per row (a statement per cell).
Here a batch is read a column at a time, with C-speed steps over whole columns: the cells
transposed with `zip(*rows)`, stripped with `map(str.strip, ...)`, looked up in per-file
caches with `map(cache.get, ...)` (a referring domain per URL authority, a verdict per
target, the COPY bytes of each date, flag and authority spelling), encoded with
`map(str.encode, ...)`, keyed with `map(md5, ...)` and joined into COPY rows. Batches are
kept small (a few hundred rows, what the caller gives) so that their cells are still in the
processor's caches when each column is read.

Any row a column check doubts (a short row, a URL not found valid in the caches, a date
not known good, an over-long URL, a NUL) is read again by LinkRowReader.read, the reference:
it rejects the row with the reason people see, or returns the link, encoded on its own
(link_row). A batch holding a link twice is read row by row and merged, so each link is met
once. Both ways give the same bytes for the same row (tested).

The binary COPY format (PostgreSQL's documentation, "COPY", "Binary Format"): a signature,
then per row the field count and each field as its length (-1: NULL) and its bytes (text
as UTF-8; date: days since 2000-01-01; timestamptz: microseconds since then; float8 and
uuid as their 8 and 16 bytes), then a trailer. Measured: PostgreSQL reads it for less CPU
than the text format (no date or number parsing).
"""

import importlib
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from itertools import repeat
from operator import add, methodcaller
from typing import Any, Final

from app.links.formats import LinkField
from app.links.rows import (
    ABSENT,
    CACHE_LIMIT,
    MAX_TEXT_LENGTH,
    MAX_URL_LENGTH,
    LinkRowReader,
    RejectedRow,
    StagedLink,
    is_true,
    parse_date,
    referring_domain,
)

SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER: Final = struct.pack(">h", -1)
# The fields of a row: project_id, link_key, store.STAGE_COLUMNS, created_at, updated_at.
FIELDS: Final = 17
NULL: Final = struct.pack(">i", -1)
_TRUE: Final = struct.pack(">ib", 1, 1)
_FALSE: Final = struct.pack(">ib", 1, 0)
_length = struct.Struct(">i").pack
_float8 = struct.Struct(">id").pack
_int4 = struct.Struct(">ii").pack
_int8 = struct.Struct(">iq").pack
_EPOCH: Final = date(2000, 1, 1).toordinal()
_EPOCH_TIME: Final = datetime(2000, 1, 1, tzinfo=UTC)
# The length prefixes of short values, looked up at C speed (`map(list.__getitem__, ...)`);
# in _NULLABLE_LENGTHS an empty value is NULL.
_SHORT = 4096
_LENGTHS: Final = [_length(n) for n in range(_SHORT)]
_NULLABLE_LENGTHS: Final = [NULL, *_LENGTHS[1:]]
# `url.find("/", 8) & _WHOLE`: the index of the first `/` after `https://` (or `http://x`),
# the whole URL's length when there is none (-1 & _WHOLE is past any URL's end).
_WHOLE: Final = (1 << 62) - 1
_digest = methodcaller("digest")


def _fast_md5() -> Callable[[bytes], Any]:
    """CPython's own md5 (a fraction of OpenSSL's set-up time per call, for short keys:
    measured; and hashlib's import maps OpenSSL, 4 MB of the parse helper's memory), or
    hashlib's where the interpreter was built without it. Same digests."""
    try:
        return importlib.import_module("_md5").md5  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - a Python built without it
        from hashlib import md5

        return partial(md5, usedforsecurity=False)


_md5 = _fast_md5()


def link_key(source_url: str, target_url: str) -> bytes:
    """The 16 bytes of a link's key: md5 of the two URLs' UTF-8, as SQL's
    md5(source_url || E'\\n' || target_url)::uuid."""
    return _md5(f"{source_url}\n{target_url}".encode()).digest()  # type: ignore[no-any-return]


def _text(value: str | None) -> bytes:
    if value is None:
        return NULL
    data = value.encode()
    return _length(len(data)) + data


def _date(day: date | None) -> bytes:
    return NULL if day is None else _int4(4, day.toordinal() - _EPOCH)


def _bool(flag: bool) -> bytes:
    return _TRUE if flag else _FALSE


def _float(value: float | None) -> bytes:
    return NULL if value is None else _float8(8, value)


def timestamp(moment: datetime) -> bytes:
    """A timestamptz field."""
    delta = moment - _EPOCH_TIME
    return _int8(8, (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


def row_head(project_id: bytes) -> bytes:
    """What each row starts with: the field count, the project and the key's length."""
    return struct.pack(">hi", FIELDS, 16) + project_id + _length(16)


def link_row(head: bytes, tail: bytes, link: StagedLink) -> tuple[bytes, bytes]:
    """(key, COPY row) of one staged link: what the column-wise reading gives for it."""
    (source, target, domain, anchor, title, first, last, lost, lost_on, nofollow, ugc,
     sponsored, authority) = link  # fmt: skip
    key = link_key(source, target)
    row = b"".join(
        (
            head,
            key,
            _text(source),
            _text(target),
            _text(domain),
            _text(anchor),
            _text(title),
            _date(first),
            _date(last),
            _bool(lost),
            _date(lost_on),
            _bool(nofollow),
            _bool(ugc),
            _bool(sponsored),
            _float(authority),
            tail,
        )
    )
    return key, row


def _merge(earlier: StagedLink, later: StagedLink) -> StagedLink:
    """The same link twice in one batch: the attributes of the more recent sighting (the
    later row when either is undated), the earliest first_seen and the latest last_seen."""
    newer = earlier if (earlier[6] and later[6] and earlier[6] > later[6]) else later
    firsts = [d for d in (earlier[5], later[5]) if d is not None]
    lasts = [d for d in (earlier[6], later[6]) if d is not None]
    return (
        *newer[:5],
        min(firsts) if firsts else None,
        max(lasts) if lasts else None,
        *newer[7:],
    )


@dataclass(slots=True)
class CopyBatch:
    """A batch read: its COPY rows and their keys (each key once), and the rows rejected
    (their index in the batch and why), in file order."""

    keys: list[bytes] = field(default_factory=list)
    rows: list[bytes] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


def _encoded(values: list[str], lengths: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    """(length prefixes, UTF-8 bytes) of a text column."""
    data = list(map(str.encode, values))
    sizes = list(map(len, data))
    if max(sizes, default=0) < _SHORT:
        return list(map(lengths.__getitem__, sizes)), data
    prefixes = list(map(_length, sizes))
    if lengths is _NULLABLE_LENGTHS:
        prefixes = [prefix if size else NULL for prefix, size in zip(prefixes, sizes, strict=True)]
    return prefixes, data


class CopyBatchReader:
    """Reads batches of rows of one file of a links format, for one project."""

    def __init__(self, reader: LinkRowReader, project_id: bytes, created: datetime) -> None:
        """`created`: the created_at and updated_at of the rows copied."""
        self.reader = reader
        self.head = row_head(project_id)
        self.tail = timestamp(created) * 2
        index = reader.plan.index
        self._needed = max(index.values()) + 1
        self._padding = [""] * self._needed
        self._at = {f: index.get(f, ABSENT) for f in LinkField}
        # Raw cell -> COPY field, for the values known good ("" and spaces read as NULL).
        self._dates: dict[str, bytes] = {"": NULL}
        self._flags: dict[str, bytes] = {}
        self._lost: dict[str, bool] = {}
        self._authorities: dict[str, bytes] = {}
        # URL authority -> referring domain's COPY field, b"" when it has none (the row is
        # then doubted); target URL -> its COPY field and the end of a key's bytes.
        self._domains: dict[str, bytes] = {}
        self._targets: dict[str, tuple[bytes, bytes]] = {}
        # Target URL -> "" when it is on the site, else why not (LinkRowReader's verdict).
        self._verdicts: dict[str, str] = {}

    def _column(self, columns: list[tuple[str, ...]], name: LinkField) -> Sequence[str] | None:
        position = self._at[name]
        return None if position == ABSENT else columns[position]

    def read(self, rows: list[list[str]]) -> CopyBatch:
        """The batch's COPY rows, keys and rejections; `rows` may be changed."""
        count = len(rows)
        if not count:
            return CopyBatch()
        original = rows
        doubted: set[int] = set()
        if min(map(len, rows)) < self._needed:
            for i, fields in enumerate(rows):
                if len(fields) < self._needed:
                    doubted.add(i)
            rows = [self._padding if i in doubted else fields for i, fields in enumerate(rows)]
        # Transposed in one call (cells past the shortest row's are not needed).
        columns = list(zip(*rows, strict=False))
        sources = list(map(str.strip, self._column(columns, LinkField.source_url) or ()))
        domains = self._referring_domains(sources, doubted)
        self._doubt_urls(sources, doubted)
        targets_raw = self._column(columns, LinkField.target_url)
        if targets_raw is None:
            targets = [self.reader.default_target] * count
        else:
            targets = list(map(str.strip, targets_raw))
            self._doubt_targets(targets, doubted)
        # Per target: its COPY field, and what follows the source in its key's bytes.
        try:
            target_fields: list[Any] = list(map(self._targets.__getitem__, targets))
        except KeyError:
            target_fields = list(map(self._targets.get, targets))
            for i, known in enumerate(target_fields):
                if known is None:
                    known = self._target_field(targets[i])
                    target_fields[i] = known
        first = self._dates_of(columns, LinkField.first_seen, doubted)
        last = self._dates_of(columns, LinkField.last_seen, doubted)
        lost_on = self._dates_of(columns, LinkField.lost_on, doubted)
        lost = self._lost_of(columns)
        lost_field = [
            _TRUE if (flag or on is not NULL) else _FALSE
            for flag, on in zip(lost, lost_on, strict=True)
        ]
        lost_on = [
            on if on is not NULL else (seen if flag else NULL)
            for flag, on, seen in zip(lost, lost_on, last, strict=True)
        ]
        nofollow = self._flags_of(columns, LinkField.nofollow)
        ugc = self._flags_of(columns, LinkField.ugc)
        sponsored = self._flags_of(columns, LinkField.sponsored)
        authority = self._authorities_of(columns)
        anchors = self._text_of(columns, LinkField.anchor)
        titles = self._text_of(columns, LinkField.source_title)
        source_lengths, source_bytes = _encoded(sources, _LENGTHS)
        target_field, key_ends = zip(*target_fields, strict=True)
        keys: list[bytes] = list(map(_digest, map(_md5, map(add, source_bytes, key_ends))))
        copy_rows = list(
            map(
                b"".join,
                zip(
                    repeat(self.head, count),
                    keys,
                    source_lengths,
                    source_bytes,
                    target_field,
                    domains,
                    *anchors,
                    *titles,
                    first,
                    last,
                    lost_field,
                    lost_on,
                    nofollow,
                    ugc,
                    sponsored,
                    authority,
                    repeat(self.tail, count),
                    strict=True,
                ),
            )
        )
        batch = CopyBatch()
        if doubted:
            for i in sorted(doubted):
                try:
                    link = self.reader.read(original[i])
                except RejectedRow as exc:
                    batch.rejected.append((i, str(exc)))
                    keys[i] = b""
                else:
                    keys[i], copy_rows[i] = link_row(self.head, self.tail, link)
            if batch.rejected:
                kept = [i for i in range(count) if keys[i]]
                keys = [keys[i] for i in kept]
                copy_rows = [copy_rows[i] for i in kept]
        if len(set(keys)) < len(keys):
            return self._merged(original, batch.rejected)
        batch.keys = keys
        batch.rows = copy_rows
        return batch

    def _referring_domains(self, sources: list[str], doubted: set[int]) -> list[bytes]:
        """Each source's referring domain as a COPY field (b"" and doubted when it has
        none). The domain depends only on the URL up to its first `/` after the scheme's
        (the whole URL when there is none): the cache's key."""
        keys = [url[: url.find("/", 8) & _WHOLE] for url in sources]
        cache = self._domains
        try:
            domains: list[Any] = list(map(cache.__getitem__, keys))
        except KeyError:
            domains = list(map(cache.get, keys))
            for i, domain in enumerate(domains):
                if domain is None:
                    host = referring_domain(sources[i])
                    domain = b"" if host is None else _text(host)
                    if len(cache) >= CACHE_LIMIT:
                        cache.clear()
                    cache[keys[i]] = domain
                    domains[i] = domain
        if b"" in domains:
            doubted.update(i for i, domain in enumerate(domains) if not domain)
        return domains

    def _doubt_targets(self, targets: list[str], doubted: set[int]) -> None:
        """Targets not on the project's site (the row reader's verdicts, cached)."""
        verdicts = self._verdicts
        found = list(map(verdicts.get, targets))
        if None in found or any(found):
            for i, verdict in enumerate(found):
                if verdict is None:
                    verdict = self.reader.target_verdict(targets[i])
                    if len(verdicts) >= CACHE_LIMIT:
                        verdicts.clear()
                    verdicts[targets[i]] = verdict
                if verdict:
                    doubted.add(i)
        self._doubt_urls(targets, doubted)

    def _target_field(self, target: str) -> tuple[bytes, bytes]:
        data = target.encode()
        known = (_length(len(data)) + data, b"\n" + data)
        if len(self._targets) >= CACHE_LIMIT:
            self._targets.clear()
        self._targets[target] = known
        return known

    @staticmethod
    def _doubt_urls(urls: list[str], doubted: set[int]) -> None:
        """URLs over the length limit or holding a NUL are the reference's to reject."""
        if max(map(len, urls), default=0) > MAX_URL_LENGTH or "\x00" in "".join(urls):
            doubted.update(
                i for i, url in enumerate(urls) if len(url) > MAX_URL_LENGTH or "\x00" in url
            )

    def _dates_of(
        self, columns: list[tuple[str, ...]], name: LinkField, doubted: set[int]
    ) -> list[bytes]:
        """The column's dates as COPY fields; a cell not known good doubts its row."""
        raw = self._column(columns, name)
        if raw is None:
            return [NULL] * len(columns[0])
        cache = self._dates
        try:  # all cached, as nearly always: no scan for the missing
            return list(map(cache.__getitem__, raw))
        except KeyError:
            pass
        fields: list[Any] = list(map(cache.get, raw))
        if None in fields:
            for i, known in enumerate(fields):
                if known is None:
                    known = self._date_field(raw[i])
                    if known is None:
                        doubted.add(i)
                        known = NULL
                    fields[i] = known
        return fields

    def _date_field(self, value: str) -> bytes | None:
        """A cell's date as a COPY field, cached; None when it is not a date (the row's
        reading again says why)."""
        try:
            known = _date(parse_date(value))
        except ValueError:
            return None
        if len(self._dates) >= CACHE_LIMIT:
            self._dates.clear()
            self._dates[""] = NULL
        self._dates[value] = known
        return known

    def _lost_of(self, columns: list[tuple[str, ...]]) -> list[bool]:
        raw = self._column(columns, LinkField.lost)
        if raw is None:
            return [False] * len(columns[0])
        return _cached(raw, self._lost, is_true)

    def _flags_of(self, columns: list[tuple[str, ...]], name: LinkField) -> list[bytes]:
        raw = self._column(columns, name)
        if raw is None:
            return [_FALSE] * len(columns[0])
        return _cached(raw, self._flags, lambda value: _bool(is_true(value)))

    def _authorities_of(self, columns: list[tuple[str, ...]]) -> list[bytes]:
        raw = self._column(columns, LinkField.authority)
        if raw is None:
            return [NULL] * len(columns[0])
        return _cached(raw, self._authorities, _authority_field)

    def _text_of(
        self, columns: list[tuple[str, ...]], name: LinkField
    ) -> tuple[list[bytes], list[bytes]]:
        """An anchor or title column: stripped, without NUL, cut; empty is NULL."""
        raw = self._column(columns, name)
        if raw is None:
            count = len(columns[0])
            return [NULL] * count, [b""] * count
        texts = list(map(str.strip, raw))
        if "\x00" in "".join(texts):
            texts = [text.replace("\x00", "") for text in texts]
        if max(map(len, texts), default=0) > MAX_TEXT_LENGTH:
            texts = [text[:MAX_TEXT_LENGTH] for text in texts]
        return _encoded(texts, _NULLABLE_LENGTHS)

    def _merged(self, rows: list[list[str]], rejected: list[tuple[int, str]]) -> CopyBatch:
        """The batch read row by row, a link met twice merged (in file order)."""
        skipped = {i for i, _ in rejected}
        merged: dict[bytes, StagedLink] = {}
        for i, fields in enumerate(rows):
            if i in skipped:
                continue
            link = self.reader.read(fields)
            key = link_key(link[0], link[1])
            earlier = merged.get(key)
            merged[key] = link if earlier is None else _merge(earlier, link)
        batch = CopyBatch(rejected=rejected)
        for key, link in merged.items():
            batch.keys.append(key)
            batch.rows.append(link_row(self.head, self.tail, link)[1])
        return batch


def _cached(raw: Sequence[str], cache: dict[str, Any], compute: Any) -> list[Any]:
    """Each cell's answer from the cache, computed (and kept) for the cells not in it."""
    try:  # all cached, as nearly always: no scan for the missing
        return list(map(cache.__getitem__, raw))
    except KeyError:
        pass
    answers: list[Any] = list(map(cache.get, raw))
    if None in answers:
        for i, answer in enumerate(answers):
            if answer is None:
                answer = compute(raw[i])
                if len(cache) < CACHE_LIMIT:
                    cache[raw[i]] = answer
                answers[i] = answer
    return answers


def _authority_field(value: str) -> bytes:
    try:
        return _float(float(value.replace(",", ".")))
    except ValueError:
        return NULL
