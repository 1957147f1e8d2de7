"""A batch of export rows to the lines of a text COPY into backlinks, column by column.

Reading a row at a time costs a few microseconds of Python per row (a statement per cell).
Here a batch is read a column at a time, with C-speed steps over whole columns: the cells
taken with `map(itemgetter(i), rows)`, stripped with `map(str.strip, ...)`, looked up in
per-file caches with `map(cache.get, ...)` (a referring domain per URL authority, a verdict
per target, a COPY text per date, flag and authority spelling), escaped for COPY once per
column (joined, replaced, split) and keyed with `map(md5, ...)`.

Any row a column check doubts (a short row, a URL not found valid in the caches, a date
not known good, a NUL, an over-long URL) is read again by LinkRowReader.read, the reference:
it rejects the row with the reason people see, or returns the link, formatted on its own. A
batch holding a link twice is read row by row and merged (merge_repeats), so the COPY meets
each link once. Both ways write the same line for the same row (tested).

A line is the text COPY row of (project_id, link_key, store.STAGE_COLUMNS...) without the
trailing created_at and updated_at, which the writer adds (store.copy_payload).
"""

import importlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from hashlib import md5
from itertools import repeat
from operator import methodcaller
from typing import Any, Final

from app.links.formats import LinkField
from app.links.rows import (
    _ABSENT,
    _CACHE_LIMIT,
    MAX_TEXT_LENGTH,
    MAX_URL_LENGTH,
    LinkRowReader,
    RejectedRow,
    StagedLink,
    _domain_of,
    _flag,
    parse_date,
)

NULL: Final = "\\N"
_TRUE: Final = "t"
_FALSE: Final = "f"
# What a line can hold only escaped (COPY's text format).
_SPECIAL: Final = ("\\", "\t", "\n", "\r")
# `url.find("/", 8) & _WHOLE`: the index of the first `/` after `https://` (or `http://x`),
# the whole URL's length when there is none (-1 & _WHOLE is past any URL's end).
_WHOLE: Final = (1 << 62) - 1
_hexdigest = methodcaller("hexdigest")


def _fast_md5() -> Callable[[bytes], Any]:
    """CPython's own md5 (a fraction of OpenSSL's set-up time per call, for short keys:
    measured), or hashlib's where the interpreter was built without it. Same digests."""
    try:
        return importlib.import_module("_md5").md5  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - a Python built without it
        return partial(md5, usedforsecurity=False)


_md5 = _fast_md5()
_encode = methodcaller("encode")
_key_text = "{}\n{}".format


def escape(value: str) -> str:
    """A value as COPY's text format reads it back unchanged."""
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def _escape_column(values: list[str]) -> list[str]:
    """The column escaped (at C speed: joined on NUL, which no value holds, and split)."""
    joined = "\x00".join(values)
    if not any(special in joined for special in _SPECIAL):
        return values
    return escape(joined).split("\x00")


def key_hex(source_url: str, target_url: str) -> str:
    """A link's key as COPY text, the same md5 as store.link_key."""
    return md5(f"{source_url}\n{target_url}".encode(), usedforsecurity=False).hexdigest()


def _date_text(day: date | None) -> str:
    return NULL if day is None else day.isoformat()


def link_line(project_text: str, link: StagedLink) -> tuple[str, str]:
    """(key, line) of one staged link: what the column-wise reading writes for it."""
    (source, target, domain, anchor, title, first, last, lost, lost_on, nofollow, ugc,
     sponsored, authority) = link  # fmt: skip
    key = key_hex(source, target)
    line = "\t".join(
        (
            project_text,
            key,
            escape(source),
            escape(target),
            escape(domain),
            NULL if anchor is None else escape(anchor),
            NULL if title is None else escape(title),
            _date_text(first),
            _date_text(last),
            _TRUE if lost else _FALSE,
            _date_text(lost_on),
            _TRUE if nofollow else _FALSE,
            _TRUE if ugc else _FALSE,
            _TRUE if sponsored else _FALSE,
            NULL if authority is None else repr(authority),
        )
    )
    return key, line


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
    """A batch read: its COPY lines and their keys (each key once), and the rows rejected
    (their index in the batch and why), in file order."""

    keys: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)


class CopyBatchReader:
    """Reads batches of rows of one file of a links format, for one project."""

    def __init__(self, reader: LinkRowReader, project_text: str) -> None:
        self.reader = reader
        self.project_text = project_text
        index = reader.plan.index
        self._needed = max(index.values()) + 1
        self._padding = [""] * self._needed
        self._at = {f: index.get(f, _ABSENT) for f in LinkField}
        # Raw cell -> COPY text, for the values known good ("" and spaces read as NULL).
        self._dates: dict[str, str] = {"": NULL}
        self._flags: dict[str, str] = {}
        self._lost: dict[str, bool] = {}
        self._authorities: dict[str, str] = {}
        # URL authority -> referring domain, "" when it has none (the row is then doubted).
        self._domains: dict[str, str] = {}

    def _column(self, columns: list[tuple[str, ...]], name: LinkField) -> Sequence[str] | None:
        position = self._at[name]
        return None if position == _ABSENT else columns[position]

    def read(self, rows: list[list[str]]) -> CopyBatch:
        """The batch's COPY lines, keys and rejections; `rows` may be changed."""
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
            verdicts = list(map(self.reader._targets.get, targets))
            if None in verdicts or any(verdicts):
                for i, verdict in enumerate(verdicts):
                    if verdict is None:
                        verdict = self.reader._target_verdict(targets[i])
                        if len(self.reader._targets) >= _CACHE_LIMIT:
                            self.reader._targets.clear()
                        self.reader._targets[targets[i]] = verdict
                    if verdict:
                        doubted.add(i)
            self._doubt_urls(targets, doubted)
        first = self._dates_of(columns, LinkField.first_seen, doubted)
        last = self._dates_of(columns, LinkField.last_seen, doubted)
        lost_on = self._dates_of(columns, LinkField.lost_on, doubted)
        lost = self._lost_of(columns)
        lost_text = [
            _TRUE if (flag or on != NULL) else _FALSE
            for flag, on in zip(lost, lost_on, strict=True)
        ]
        lost_on = [
            on if on != NULL else (seen if flag else NULL)
            for flag, on, seen in zip(lost, lost_on, last, strict=True)
        ]
        nofollow = self._flags_of(columns, LinkField.nofollow)
        ugc = self._flags_of(columns, LinkField.ugc)
        sponsored = self._flags_of(columns, LinkField.sponsored)
        authority = self._authorities_of(columns)
        anchors = self._text_of(columns, LinkField.anchor)
        titles = self._text_of(columns, LinkField.source_title)
        if doubted:  # their cells are read again; meanwhile they must not hold a NUL
            for i in doubted:
                sources[i] = targets[i] = domains[i] = ""
        keys = list(map(_hexdigest, map(_md5, map(_encode, map(_key_text, sources, targets)))))
        lines = list(
            map(
                "\t".join,
                zip(
                    repeat(self.project_text, count),
                    keys,
                    _escape_column(sources),
                    _escape_column(targets),
                    _escape_column(domains),
                    anchors,
                    titles,
                    first,
                    last,
                    lost_text,
                    lost_on,
                    nofollow,
                    ugc,
                    sponsored,
                    authority,
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
                    keys[i] = ""
                else:
                    keys[i], lines[i] = link_line(self.project_text, link)
            if batch.rejected:
                kept = [i for i in range(count) if keys[i]]
                keys = [keys[i] for i in kept]
                lines = [lines[i] for i in kept]
        if len(set(keys)) < len(keys):
            return self._merged(original, batch.rejected)
        batch.keys = keys
        batch.lines = lines
        return batch

    def _referring_domains(self, sources: list[str], doubted: set[int]) -> list[str]:
        """Each source's referring domain ("" and doubted when it has none). The domain
        depends only on the URL up to its first `/` after the scheme's (the whole URL when
        there is none): the cache's key."""
        keys = [url[: url.find("/", 8) & _WHOLE] for url in sources]
        cache = self._domains
        domains: list[Any] = list(map(cache.get, keys))
        if None in domains:
            for i, domain in enumerate(domains):
                if domain is None:
                    domain = _domain_of(sources[i]) or ""
                    if len(cache) >= _CACHE_LIMIT:
                        cache.clear()
                    cache[keys[i]] = domain
                    domains[i] = domain
        if "" in domains:
            doubted.update(i for i, domain in enumerate(domains) if not domain)
        return domains

    @staticmethod
    def _doubt_urls(urls: list[str], doubted: set[int]) -> None:
        """URLs over the length limit or holding a NUL are the reference's to reject."""
        if max(map(len, urls), default=0) > MAX_URL_LENGTH or "\x00" in "".join(urls):
            doubted.update(
                i for i, url in enumerate(urls) if len(url) > MAX_URL_LENGTH or "\x00" in url
            )

    def _dates_of(
        self, columns: list[tuple[str, ...]], name: LinkField, doubted: set[int]
    ) -> list[str]:
        """The column's dates as COPY text; a cell not known good doubts its row (NULL)."""
        raw = self._column(columns, name)
        if raw is None:
            return [NULL] * len(columns[0])
        cache = self._dates
        texts: list[Any] = list(map(cache.get, raw))
        if None in texts:
            for i, text in enumerate(texts):
                if text is None:
                    texts[i] = self._date_text(raw[i])
                    if texts[i] is None:
                        doubted.add(i)
                        texts[i] = NULL
        return texts

    def _date_text(self, value: str) -> str | None:
        """A cell's date as COPY text, cached; None when it is not a date (the row's
        reading again says why)."""
        try:
            text = _date_text(parse_date(value))
        except ValueError:
            return None
        if len(self._dates) >= _CACHE_LIMIT:
            self._dates.clear()
            self._dates[""] = NULL
        self._dates[value] = text
        return text

    def _lost_of(self, columns: list[tuple[str, ...]]) -> list[bool]:
        raw = self._column(columns, LinkField.lost)
        if raw is None:
            return [False] * len(columns[0])
        return _cached(raw, self._lost, _flag)

    def _flags_of(self, columns: list[tuple[str, ...]], name: LinkField) -> list[str]:
        raw = self._column(columns, name)
        if raw is None:
            return [_FALSE] * len(columns[0])
        return _cached(raw, self._flags, lambda value: _TRUE if _flag(value) else _FALSE)

    def _authorities_of(self, columns: list[tuple[str, ...]]) -> list[str]:
        raw = self._column(columns, LinkField.authority)
        if raw is None:
            return [NULL] * len(columns[0])
        return _cached(raw, self._authorities, _authority_text)

    def _text_of(self, columns: list[tuple[str, ...]], name: LinkField) -> list[str]:
        """An anchor or title column: stripped, without NUL, cut, escaped; empty is NULL."""
        raw = self._column(columns, name)
        if raw is None:
            return [NULL] * len(columns[0])
        texts = list(map(str.strip, raw))
        if "\x00" in "".join(texts):
            texts = [text.replace("\x00", "") for text in texts]
        if max(map(len, texts), default=0) > MAX_TEXT_LENGTH:
            texts = [text[:MAX_TEXT_LENGTH] for text in texts]
        texts = _escape_column(texts)
        return [text or NULL for text in texts] if "" in texts else texts

    def _merged(self, rows: list[list[str]], rejected: list[tuple[int, str]]) -> CopyBatch:
        """The batch read row by row, a link met twice merged (in file order)."""
        skipped = {i for i, _ in rejected}
        merged: dict[str, StagedLink] = {}
        for i, fields in enumerate(rows):
            if i in skipped:
                continue
            link = self.reader.read(fields)
            key = key_hex(link[0], link[1])
            earlier = merged.get(key)
            merged[key] = link if earlier is None else _merge(earlier, link)
        batch = CopyBatch(rejected=rejected)
        for key, link in merged.items():
            batch.keys.append(key)
            batch.lines.append(link_line(self.project_text, link)[1])
        return batch


def _cached(raw: Sequence[str], cache: dict[str, Any], compute: Any) -> list[Any]:
    """Each cell's answer from the cache, computed (and kept) for the cells not in it."""
    answers: list[Any] = list(map(cache.get, raw))
    if None in answers:
        for i, answer in enumerate(answers):
            if answer is None:
                answer = compute(raw[i])
                if len(cache) < _CACHE_LIMIT:
                    cache[raw[i]] = answer
                answers[i] = answer
    return answers


def _authority_text(value: str) -> str:
    try:
        return repr(float(value.replace(",", ".")))
    except ValueError:
        return NULL


def lines_of(project_text: str, links: Iterable[StagedLink]) -> tuple[list[str], list[str]]:
    """(keys, lines) of staged links, each formatted on its own."""
    keys: list[str] = []
    lines: list[str] = []
    for link in links:
        key, line = link_line(project_text, link)
        keys.append(key)
        lines.append(line)
    return keys, lines
