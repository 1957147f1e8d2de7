"""One export row to one backlink, or the reason it is rejected.

This runs for every row of files of hundreds of thousands of rows, so it is written for
speed: the column indexes are resolved once per file, and the answers that repeat (the host
of a URL, a date string, whether a target host is on the site) are cached per file.
"""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Final

from app.core.hosts import normalize_host
from app.links.formats import ColumnPlan, LinkField

MAX_URL_LENGTH = 2048
MAX_TEXT_LENGTH = 1000  # anchors and titles are cut here (a page's whole text is not an anchor)
_CACHE_LIMIT = 100_000

# The staged row, in the order of store.STAGE_COLUMNS.
StagedLink = tuple[
    str,  # source_url
    str,  # target_url
    str,  # referring_domain
    str | None,  # anchor
    str | None,  # source_title
    date | None,  # first_seen
    date | None,  # last_seen
    bool,  # lost
    date | None,  # lost_on
    bool,  # nofollow
    bool,  # ugc
    bool,  # sponsored
    float | None,  # authority
]
# A summary row: the site or page, and its two counts.
StagedSummary = tuple[str, int, int]

_HTTP_URL = re.compile(r"[hH][tT][tT][pP][sS]?://([^/?#\s]*)")
_TRUE: Final = frozenset({"true", "1", "yes", "y", "+", "x", "lost", "removed"})


class RejectedRow(Exception):  # noqa: N818 - a row's verdict, not a failure of the import
    """The row cannot be imported; the message says why, for people."""


def _site_root(site_url: str) -> str:
    host = url_host(site_url)
    if host is None:
        raise ValueError(f"the project's site {site_url!r} has no host")
    return host.removeprefix("www.")


def url_host(url: str) -> str | None:
    """The normalized host of an absolute http(s) URL, else None."""
    match = _HTTP_URL.match(url)
    if match is None:
        return None
    netloc = match.group(1).rpartition("@")[2]
    if netloc.startswith("["):
        host = netloc[: netloc.find("]") + 1]
    else:
        host, _, port = netloc.partition(":")
        if port and not port.isdigit():
            return None
    return normalize_host(host) if host else None


class SiteScope:
    """Whether a host is the project's site: the same host (`www.` ignored), or one of its
    subdomains when the project includes them (the audit crawler's rule)."""

    __slots__ = ("_answers", "include_subdomains", "root")

    def __init__(self, site_url: str, *, include_subdomains: bool) -> None:
        self.root = _site_root(site_url)
        self.include_subdomains = include_subdomains
        self._answers: dict[str, bool] = {}

    def contains(self, host: str) -> bool:
        answer = self._answers.get(host)
        if answer is None:
            bare = host.removeprefix("www.")
            answer = bare == self.root or (
                self.include_subdomains and bare.endswith("." + self.root)
            )
            if len(self._answers) < _CACHE_LIMIT:
                self._answers[host] = answer
        return answer


_NUMERIC_DATE = re.compile(
    r"(\d{1,4})[/.\-](\d{1,2})[/.\-](\d{1,4})(?:[ T,]+\d{1,2}:\d{2}(?::\d{2})?(?:\.\d+)?)?"
    r"(?:\s*[AaPp][Mm])?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?"
)
_WORDED_FORMATS = ("%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%B %d %Y")
_WORDED_TIME = re.compile(r"\s+\d{1,2}:\d{2}(?::\d{2})?(?:\s*[AaPp][Mm])?(?:\s*(?:UTC|GMT))?$")


def parse_date(value: str) -> date | None:
    """A day in any of the forms the tools write: ISO (`2024-01-31`, `2024-01-31 10:00:00`,
    `2024-01-31T10:00:00Z`, with an offset: the UTC day), `31/01/2024` (day first, unless
    the first number cannot be a month... and the second can: `01/31/2024`), `31.01.2024`,
    `Jan 31, 2024`, `31 Jan 2024`; empty is None. Raises ValueError otherwise."""
    text = value.strip()
    if not text:
        return None
    if len(text) >= 10 and text[4] == "-":
        try:
            moment = datetime.fromisoformat(text.replace(" UTC", "").replace("/", "-"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is not None:
                moment = moment.astimezone(UTC)
            return moment.date()
    match = _NUMERIC_DATE.fullmatch(text)
    if match is not None:
        first, second, third = (int(part) for part in match.groups())
        if len(match.group(1)) == 4:
            return date(first, second, third)
        year = third + 2000 if third < 100 else third
        if first <= 12 < second:  # 01/31/2024: month first (US)
            return date(year, first, second)
        return date(year, second, first)
    text = _WORDED_TIME.sub("", text)
    for pattern in _WORDED_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {value!r}")


def is_true(value: str) -> bool:
    return value.strip().lower() in _TRUE


def parse_count(value: str) -> int:
    """`1,234`, `1 234`, `1.234` (thousands separators of any locale) -> 1234."""
    digits = re.sub(r"[,.\s\u00a0\u202f']", "", value)
    if not digits.isdigit():
        raise ValueError(f"not a count: {value!r}")
    return int(digits)


def _cut(value: str) -> str | None:
    value = value.strip()
    return value[:MAX_TEXT_LENGTH] if value else None


class LinkRowReader:
    """Reads the rows of one file of a links format, for one project's site."""

    def __init__(self, plan: ColumnPlan, scope: SiteScope, *, site_url: str) -> None:
        self.plan = plan
        self.scope = scope
        # Search Console's links export names no target page: the links are to the site.
        self.default_target = site_url
        index = plan.index
        self._source = index[LinkField.source_url]
        self._target = index.get(LinkField.target_url)
        self._hosts: dict[str, str | None] = {}
        self._dates: dict[str, date | str | None] = {}
        self._needed = max(index.values()) + 1
        self._optional: dict[LinkField, int | None] = {f: index.get(f) for f in LinkField}
        self._date_labels = {
            field: (plan.format.columns.get(field) or (field.value,))[0]
            for field in (LinkField.first_seen, LinkField.last_seen, LinkField.lost_on)
        }

    def _host(self, url: str) -> str | None:
        hosts = self._hosts
        # Hosts repeat (a site links many times); the URL's start up to its path is the key.
        slash = url.find("/", 8)
        key = url if slash < 0 else url[:slash]
        try:
            return hosts[key]
        except KeyError:
            host = url_host(key)
            if len(hosts) >= _CACHE_LIMIT:
                hosts.clear()
            hosts[key] = host
            return host

    def _date(self, fields: list[str], field: LinkField) -> date | None:
        position = self._optional[field]
        if position is None:
            return None
        value = fields[position]
        if not value:
            return None
        dates = self._dates
        try:
            known = dates[value]
        except KeyError:
            try:
                known = parse_date(value)
            except ValueError:
                known = f"{self._date_labels[field]} is not a date: {value.strip()[:60]!r}"
            if len(dates) >= _CACHE_LIMIT:
                dates.clear()
            dates[value] = known
        if isinstance(known, str):
            raise RejectedRow(known)
        return known

    def _flag(self, fields: list[str], field: LinkField) -> bool:
        position = self._optional[field]
        return position is not None and fields[position].strip().lower() in _TRUE

    def read(self, fields: list[str]) -> StagedLink:
        """The staged link of one row, or RejectedRow."""
        if len(fields) < self._needed:
            if len(fields) <= 1 and not "".join(fields).strip():
                raise RejectedRow("empty line")
            raise RejectedRow(
                f"the row has {len(fields)} columns where the header has {self.plan.width}"
            )
        source = fields[self._source].strip()
        source_host = self._host(source) if len(source) <= MAX_URL_LENGTH else None
        if source_host is None:
            raise RejectedRow(f"the source URL is not an http(s) URL: {source[:100]!r}")
        if self._target is None:
            target = self.default_target
        else:
            target = fields[self._target].strip()
            target_host = self._host(target) if len(target) <= MAX_URL_LENGTH else None
            if target_host is None:
                raise RejectedRow(f"the target URL is not an http(s) URL: {target[:100]!r}")
            if not self.scope.contains(target_host):
                raise RejectedRow(
                    f"the target URL is not on the project's site ({self.scope.root}): "
                    f"{target[:100]!r}"
                )
        optional = self._optional
        first_seen = self._date(fields, LinkField.first_seen)
        last_seen = self._date(fields, LinkField.last_seen)
        lost_on = self._date(fields, LinkField.lost_on)
        lost = lost_on is not None or self._flag(fields, LinkField.lost)
        if lost and lost_on is None:
            lost_on = last_seen
        anchor = optional[LinkField.anchor]
        title = optional[LinkField.source_title]
        authority_at = optional[LinkField.authority]
        authority: float | None = None
        if authority_at is not None:
            try:
                authority = float(fields[authority_at].replace(",", "."))
            except ValueError:
                authority = None
        return (
            source,
            target,
            source_host.removeprefix("www."),
            None if anchor is None else _cut(fields[anchor]),
            None if title is None else _cut(fields[title]),
            first_seen,
            last_seen,
            lost,
            lost_on,
            self._flag(fields, LinkField.nofollow),
            self._flag(fields, LinkField.ugc),
            self._flag(fields, LinkField.sponsored),
            authority,
        )


class SummaryRowReader:
    """Reads the rows of a Search Console summary (a site or page and two counts)."""

    def __init__(self, plan: ColumnPlan) -> None:
        self.plan = plan
        self._item = plan.index[LinkField.item]
        self._first = plan.index[LinkField.first_count]
        self._second = plan.index[LinkField.second_count]
        self._needed = max(self._item, self._first, self._second) + 1

    def read(self, fields: list[str]) -> StagedSummary:
        if len(fields) < self._needed:
            raise RejectedRow(
                f"the row has {len(fields)} columns where the header has {self.plan.width}"
            )
        item = fields[self._item].strip()
        if not item or len(item) > MAX_URL_LENGTH:
            raise RejectedRow("no site or page in the row")
        try:
            return item, parse_count(fields[self._first]), parse_count(fields[self._second])
        except ValueError as exc:
            raise RejectedRow(str(exc)) from None


RowReader = Callable[[list[str]], StagedLink | StagedSummary]
