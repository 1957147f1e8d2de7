"""The backlink exports the platform reads, recognised from their header row only (a file
name says nothing reliable: people rename exports).

Each format maps the fields of a backlink to the column names its tool writes (several
spellings where the tool changed them over the years). A format is recognised when every
column of its `signature` is present; the 422 for an unknown header lists those columns for
every format, so people see what was expected.

Search Console writes two kinds of file: its links export (`Linking page`, `Last crawled`:
one row per linking page, no target page, so the project's site is the target), and the
summaries of its Links report (`Top linking sites`, `Top linked pages`: counts with thousands
separators), which are not links: they are kept as summary rows (models.LinkSummaryRow).
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class LinkField(StrEnum):
    source_url = "source_url"
    target_url = "target_url"
    anchor = "anchor"
    source_title = "source_title"
    first_seen = "first_seen"
    last_seen = "last_seen"
    lost = "lost"  # a flag (Semrush, Majestic)
    lost_on = "lost_on"  # a date (Ahrefs' `Lost`)
    nofollow = "nofollow"
    ugc = "ugc"
    sponsored = "sponsored"
    authority = "authority"
    # Summary rows (Search Console's Links report)
    item = "item"
    first_count = "first_count"
    second_count = "second_count"


class FormatKind(StrEnum):
    links = "links"
    summary = "summary"


@dataclass(frozen=True, slots=True)
class LinkFormat:
    name: str
    label: str
    kind: FormatKind
    # The columns that identify the format (as the tool spells them), all required.
    signature: tuple[str, ...]
    # Field -> the column names it may have, first found wins (compared case-insensitively).
    columns: Mapping[LinkField, tuple[str, ...]]
    # The fields a row cannot do without (each found under one of its names).
    required: tuple[LinkField, ...] = (LinkField.source_url, LinkField.target_url)
    # What the authority column measures, for people.
    authority_metric: str | None = None

    def expected_columns(self) -> list[str]:
        """The columns named in the 422 for an unknown header."""
        names = list(self.signature)
        for field in self.required:
            first = self.columns[field][0]
            if column_key(first) not in {column_key(n) for n in names}:
                names.append(first)
        return names


F = LinkField

AHREFS = LinkFormat(
    name="ahrefs",
    label="Ahrefs",
    kind=FormatKind.links,
    signature=("Referring page URL",),
    columns={
        F.source_url: ("Referring page URL",),
        F.target_url: ("Target URL", "Link URL"),
        F.anchor: ("Anchor", "Link Anchor"),
        F.source_title: ("Referring page title",),
        F.authority: ("Domain rating", "DR"),
        F.nofollow: ("Nofollow",),
        F.ugc: ("UGC",),
        F.sponsored: ("Sponsored",),
        F.first_seen: ("First seen",),
        F.last_seen: ("Last seen", "Last check"),
        F.lost_on: ("Lost",),
    },
    authority_metric="Domain rating",
)

SEMRUSH = LinkFormat(
    name="semrush",
    label="Semrush",
    kind=FormatKind.links,
    signature=("Source url", "Target url", "Page ascore"),
    columns={
        F.source_url: ("Source url",),
        F.target_url: ("Target url",),
        F.anchor: ("Anchor",),
        F.source_title: ("Source title",),
        F.authority: ("Page ascore",),
        F.nofollow: ("Nofollow",),
        F.ugc: ("Ugc",),
        F.sponsored: ("Sponsored",),
        F.first_seen: ("First seen",),
        F.last_seen: ("Last seen",),
        F.lost: ("Lost link",),
    },
    authority_metric="Page Authority Score",
)

MAJESTIC = LinkFormat(
    name="majestic",
    label="Majestic",
    kind=FormatKind.links,
    signature=("Source URL", "Target URL", "FlagNoFollow"),
    columns={
        F.source_url: ("Source URL",),
        F.target_url: ("Target URL",),
        F.anchor: ("Anchor Text", "AnchorText"),
        F.source_title: ("Source Title", "Title"),
        F.authority: ("SourceTrustFlow",),
        F.nofollow: ("FlagNoFollow",),
        F.first_seen: ("Source First Found Date", "FirstIndexedDate"),
        F.last_seen: ("Source Crawl Date", "LastSeenDate"),
        F.lost: ("FlagDeleted",),
        F.lost_on: ("Date Lost", "DateLost"),
    },
    authority_metric="Source Trust Flow",
)

GSC_LINKS = LinkFormat(
    name="gsc_links",
    label="Search Console links",
    kind=FormatKind.links,
    signature=("Linking page", "Last crawled"),
    columns={F.source_url: ("Linking page",), F.last_seen: ("Last crawled",)},
    required=(F.source_url,),
)

GSC_TOP_LINKING_SITES = LinkFormat(
    name="gsc_top_linking_sites",
    label="Search Console top linking sites",
    kind=FormatKind.summary,
    signature=("Site", "Linking pages", "Target pages"),
    columns={
        F.item: ("Site",),
        F.first_count: ("Linking pages",),
        F.second_count: ("Target pages",),
    },
    required=(F.item, F.first_count, F.second_count),
)

GSC_TOP_LINKED_PAGES = LinkFormat(
    name="gsc_top_linked_pages",
    label="Search Console top linked pages",
    kind=FormatKind.summary,
    signature=("Incoming links", "Linking sites"),
    columns={
        F.item: ("Target page", "Top target pages", "Page"),
        F.first_count: ("Incoming links",),
        F.second_count: ("Linking sites",),
    },
    required=(F.item, F.first_count, F.second_count),
)

FORMATS: tuple[LinkFormat, ...] = (
    AHREFS,
    SEMRUSH,
    MAJESTIC,
    GSC_LINKS,
    GSC_TOP_LINKING_SITES,
    GSC_TOP_LINKED_PAGES,
)
FORMATS_BY_NAME = {f.name: f for f in FORMATS}

# What a summary file's rows count, for people (first_count, second_count).
SUMMARY_COUNTS = {
    GSC_TOP_LINKING_SITES.name: ("linking pages", "target pages"),
    GSC_TOP_LINKED_PAGES.name: ("incoming links", "linking sites"),
}


class UnknownFormatError(ValueError):
    """The header row is none of the known formats; the message says what each expects."""


@dataclass(frozen=True, slots=True)
class ColumnPlan:
    """A recognised header: the format and the index of each field's column (absent fields
    are not in `index`)."""

    format: LinkFormat
    index: Mapping[LinkField, int]
    width: int


_SPACES = re.compile(r"\s+")


def column_key(name: str) -> str:
    """How columns are compared: case, surrounding quotes and spaces, a stray BOM ignored."""
    return _SPACES.sub(" ", name.replace("\ufeff", "").strip().strip('"').strip()).lower()


def recognise(header: Sequence[str]) -> ColumnPlan:
    """The plan of the first format whose signature the header has, else UnknownFormatError."""
    positions: dict[str, int] = {}
    for position, name in enumerate(header):
        positions.setdefault(column_key(name), position)
    for candidate in FORMATS:
        if all(column_key(name) in positions for name in candidate.signature):
            index: dict[LinkField, int] = {}
            for field, names in candidate.columns.items():
                for name in names:
                    if column_key(name) in positions:
                        index[field] = positions[column_key(name)]
                        break
            return ColumnPlan(format=candidate, index=index, width=len(header))
    raise UnknownFormatError(describe_unknown(header))


def describe_unknown(header: Sequence[str]) -> str:
    found = ", ".join(repr(name.strip()) for name in header[:30] if name.strip()) or "none"
    expected = "; ".join(f"{f.label}: {', '.join(f.expected_columns())}" for f in FORMATS)
    return (
        f"Unrecognised backlink export: the header row has the columns {found}. "
        f"Known formats and the columns each expects: {expected}."
    )


_DELIMITERS = ("\t", ",", ";")


def detect_delimiter(header_line: str) -> str:
    """The delimiter the header line uses most (tab, comma, semicolon); comma by default."""
    counts = {d: header_line.count(d) for d in _DELIMITERS}
    best = max(_DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","
