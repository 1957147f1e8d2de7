"""Robots directives of a page (meta robots tags and X-Robots-Tag headers) as one search
engine reads them.

A value either applies to every crawler (`noindex, nofollow`) or names one first
(`googlebot: noindex`, `bingbot: noindex, nofollow`): Google's syntax for X-Robots-Tag, and
what a `<meta name="googlebot">` tag means (the parser stores it the same way). Only the
values for every crawler and for `agent` count; `none` is `noindex, nofollow`.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# Directive names that may carry a value after a colon: a word before a colon that is not
# one of these names a crawler.
_VALUED = frozenset({"max-snippet", "max-image-preview", "max-video-preview", "unavailable_after"})
DEFAULT_AGENT = "googlebot"


@dataclass(frozen=True, slots=True)
class Directives:
    names: frozenset[str] = frozenset()
    unavailable_after: str | None = None
    # Which sources said noindex: "meta" and/or "header".
    noindex_sources: frozenset[str] = field(default_factory=frozenset)

    @property
    def noindex(self) -> bool:
        return bool(self.names & {"noindex", "none"}) or self._expired()

    @property
    def nofollow(self) -> bool:
        return bool(self.names & {"nofollow", "none"})

    def _expired(self) -> bool:
        if not self.unavailable_after:
            return False
        moment = parse_moment(self.unavailable_after)
        return moment is not None and moment <= datetime.now(UTC)


def parse_moment(value: str) -> datetime | None:
    """`unavailable_after`'s date: RFC 822/850 or ISO 8601; None when unreadable."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def split_value(value: str) -> tuple[str | None, list[tuple[str, str]]]:
    """`bingbot: noindex, max-snippet: 20` -> ("bingbot", [("noindex", ""), ("max-snippet",
    "20")]); a value naming no crawler -> (None, [...])."""
    agent: str | None = None
    text = value.strip()
    head, colon, rest = text.partition(":")
    name = head.strip().lower()
    if colon and name and " " not in name and "," not in name and name not in _VALUED:
        agent, text = name, rest
    parts: list[tuple[str, str]] = []
    pending_date: list[str] = []
    for piece in text.split(","):
        directive, _, argument = piece.strip().partition(":")
        key = directive.strip().lower()
        if pending_date and key not in _KNOWN:
            # unavailable_after's RFC 850 date holds a comma: join it back.
            parts[-1] = (parts[-1][0], parts[-1][1] + "," + piece)
            continue
        pending_date = []
        if not key:
            continue
        parts.append((key, argument.strip()))
        if key == "unavailable_after":
            pending_date = [argument]
    return agent, parts


_KNOWN = frozenset(
    {
        "all",
        "index",
        "follow",
        "noindex",
        "nofollow",
        "none",
        "noarchive",
        "nocache",
        "nosnippet",
        "noimageindex",
        "notranslate",
        "indexifembedded",
        "nositelinkssearchbox",
        *_VALUED,
    }
)


def evaluate(
    meta_robots: list[str], x_robots_tag: list[str], *, agent: str = DEFAULT_AGENT
) -> Directives:
    names: set[str] = set()
    unavailable: str | None = None
    noindex_sources: set[str] = set()
    agent = agent.lower()
    for source, values in (("meta", meta_robots), ("header", x_robots_tag)):
        for value in values:
            who, parts = split_value(value)
            if who is not None and who != agent:
                continue
            for key, argument in parts:
                names.add(key)
                if key == "unavailable_after" and argument:
                    unavailable = argument.strip()
                if key in ("noindex", "none"):
                    noindex_sources.add(source)
    return Directives(
        names=frozenset(names),
        unavailable_after=unavailable,
        noindex_sources=frozenset(noindex_sources),
    )
