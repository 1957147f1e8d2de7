"""One export row to one backlink, or the reason it is rejected.

This runs for every row of files of hundreds of thousands of rows, so it is written for
speed: the column indexes are resolved once per file, and the answers that repeat (the host
of a URL, a date string, whether a target host is on the site) are cached per file.
"""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from operator import itemgetter
from typing import Any, Final

from app.core.hosts import normalize_host
from app.links.formats import ColumnPlan, LinkField

MAX_URL_LENGTH = 2048
MAX_TEXT_LENGTH = 1000  # anchors and titles are cut here (a page's whole text is not an anchor)
CACHE_LIMIT = 100_000
# Rejected rows kept per import, with their line and reason (the rest are only counted).
KEPT_REJECTIONS = 100

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
# The spellings the tools write, as written: a flag cell is looked up once, unchanged.
_FLAG: Final = {
    **dict.fromkeys(("true", "TRUE", "True", "1", "yes", "Yes", "YES", "+", "x", "X"), True),
    **dict.fromkeys(("false", "FALSE", "False", "0", "no", "No", "NO", "-", ""), False),
}


def _flag(value: str) -> bool:
    """A flag cell in any other spelling (spaces, `Lost`, `removed`)."""
    return value.strip().lower() in _TRUE


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
            if len(self._answers) < CACHE_LIMIT:
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


# An http(s) URL with a plain ASCII host (nearly all): scheme, optional user info, host,
# optional port, then the end or a path, query or fragment. Others take url_host's way.
_PLAIN_URL = re.compile(
    r"[hH][tT][tT][pP][sS]?://(?:[^/?#@\s]*@)?([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)\.?"
    r"(?::\d*)?(?:[/?#]|$)"
)
_MISSING = object()
ABSENT = -1  # the index of an absent column: every row gets an empty last field


class LinkRowReader:
    """Reads the rows of one file of a links format, for one project's site."""

    def __init__(self, plan: ColumnPlan, scope: SiteScope, *, site_url: str) -> None:
        self.plan = plan
        self.scope = scope
        # Search Console's links export names no target page: the links are to the site.
        self.default_target = site_url
        index = plan.index
        self._needed = max(index.values()) + 1
        at = {f: index.get(f, ABSENT) for f in LinkField}
        # The cells a row needs, taken in one call (an absent column reads the empty field
        # appended to each row).
        self._cells = itemgetter(
            at[LinkField.source_url],
            at[LinkField.target_url],
            at[LinkField.anchor],
            at[LinkField.source_title],
            at[LinkField.first_seen],
            at[LinkField.last_seen],
            at[LinkField.lost],
            at[LinkField.lost_on],
            at[LinkField.nofollow],
            at[LinkField.ugc],
            at[LinkField.sponsored],
            at[LinkField.authority],
        )
        self._has_target = LinkField.target_url in index
        self._has_authority = LinkField.authority in index
        self._dates: dict[str, object] = {}
        # The referring domain (or None: no http(s) host) per URL authority, and the
        # verdict per target URL ("" when it is on the site, else why not): a file has a
        # few thousand domains and a few hundred target pages, over many rows.
        self._domains: dict[str, str | None] = {}
        self._targets: dict[str, str] = {}
        self._date_labels = {
            field: (plan.format.columns.get(field) or (field.value,))[0]
            for field in (LinkField.first_seen, LinkField.last_seen, LinkField.lost_on)
        }

    def _date(self, value: str, field: LinkField) -> date | None:
        """A date cell (cached: a file has a few thousand distinct dates), or RejectedRow."""
        known = self._dates.get(value, _MISSING)
        if known is _MISSING:
            try:
                known = parse_date(value)
            except ValueError:
                known = f"{self._date_labels[field]} is not a date: {value.strip()[:60]!r}"
            if len(self._dates) >= CACHE_LIMIT:
                self._dates.clear()
            self._dates[value] = known
        if type(known) is str:
            raise RejectedRow(known)
        return known  # type: ignore[return-value]

    def _domain(self, url: str) -> str | None:
        """The referring domain of a source URL (its host without `www.`), or None. The
        answer depends only on the URL up to the first `/` after the scheme (what the host
        is read from), which is the cache's key."""
        if url.startswith("https://"):
            end = url.find("/", 8)
        elif url.startswith("http://"):
            end = url.find("/", 7)
        else:
            return referring_domain(url)
        key = url[:end] if end >= 0 else url
        domain = self._domains.get(key, _MISSING)
        if domain is _MISSING:
            domain = referring_domain(url)
            if len(self._domains) >= CACHE_LIMIT:
                self._domains.clear()
            self._domains[key] = domain
        return domain  # type: ignore[return-value]

    def target_verdict(self, target: str) -> str:
        """ "" when a (stripped) target URL is an http(s) URL on the project's site, else
        the reason (cached)."""
        verdict = self._targets.get(target)
        if verdict is None:
            verdict = self._target_verdict(target)
            if len(self._targets) >= CACHE_LIMIT:
                self._targets.clear()
            self._targets[target] = verdict
        return verdict

    def _target_verdict(self, target: str) -> str:
        """ "" when the target URL is an http(s) URL on the project's site, else the reason."""
        match = _PLAIN_URL.match(target)
        host = match.group(1).lower() if match is not None else url_host(target)
        if host is None or len(target) > MAX_URL_LENGTH or "\x00" in target:
            return f"the target URL is not an http(s) URL: {target[:100]!r}"
        if not self.scope.contains(host):
            return (
                f"the target URL is not on the project's site ({self.scope.root}): {target[:100]!r}"
            )
        return ""

    def read(self, fields: list[str]) -> StagedLink:
        """The staged link of one row, or RejectedRow. The hot path of an import: written
        with few calls (the cells in one, the usual values found in a cache)."""
        if len(fields) < self._needed:
            if len(fields) <= 1 and not "".join(fields).strip():
                raise RejectedRow("empty line")
            raise RejectedRow(
                f"the row has {len(fields)} columns where the header has {self.plan.width}"
            )
        fields.append("")  # what absent columns read
        (
            source,
            target,
            anchor,
            title,
            first_value,
            last_value,
            lost_value,
            lost_on_value,
            nofollow_value,
            ugc_value,
            sponsored_value,
            authority_value,
        ) = self._cells(fields)
        source = source.strip()
        domain = self._domain(source)
        if domain is None or len(source) > MAX_URL_LENGTH or "\x00" in source:
            raise RejectedRow(f"the source URL is not an http(s) URL: {source[:100]!r}")
        if self._has_target:
            target = target.strip()
            verdict = self._targets.get(target)
            if verdict is None:
                verdict = self._target_verdict(target)
                if len(self._targets) >= CACHE_LIMIT:
                    self._targets.clear()
                self._targets[target] = verdict
            if verdict:
                raise RejectedRow(verdict)
        else:
            target = self.default_target
        dates = self._dates
        # A cached date, None, _MISSING or a cached rejection: settled by _date unless a date.
        first_seen: Any = dates.get(first_value, _MISSING) if first_value else None
        if first_seen is _MISSING or type(first_seen) is str:
            first_seen = self._date(first_value, LinkField.first_seen)
        last_seen: Any = dates.get(last_value, _MISSING) if last_value else None
        if last_seen is _MISSING or type(last_seen) is str:
            last_seen = self._date(last_value, LinkField.last_seen)
        lost_on = self._date(lost_on_value, LinkField.lost_on) if lost_on_value.strip() else None
        flags = _FLAG
        lost = flags.get(lost_value)
        if lost is None:
            lost = _flag(lost_value)
        lost = lost or lost_on is not None
        if lost and lost_on is None:
            lost_on = last_seen
        authority: float | None = None
        if self._has_authority:
            try:
                authority = float(authority_value.replace(",", "."))
            except ValueError:
                authority = None
        nofollow = flags.get(nofollow_value)
        if nofollow is None:
            nofollow = _flag(nofollow_value)
        ugc = flags.get(ugc_value)
        if ugc is None:
            ugc = _flag(ugc_value)
        sponsored = flags.get(sponsored_value)
        if sponsored is None:
            sponsored = _flag(sponsored_value)
        anchor = anchor.strip()
        title = title.strip()
        if "\x00" in anchor or "\x00" in title:  # PostgreSQL's text holds no NUL
            anchor, title = anchor.replace("\x00", ""), title.replace("\x00", "")
        return (
            source,
            target,
            domain,
            anchor[:MAX_TEXT_LENGTH] if anchor else None,
            title[:MAX_TEXT_LENGTH] if title else None,
            first_seen,
            last_seen,
            lost,
            lost_on,
            nofollow,
            ugc,
            sponsored,
            authority,
        )


def referring_domain(url: str) -> str | None:
    """A source URL's host without `www.`, or None when it has no http(s) host."""
    match = _PLAIN_URL.match(url)
    host = match.group(1).lower() if match is not None else url_host(url)
    return None if host is None else host.removeprefix("www.")


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
