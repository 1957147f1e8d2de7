"""Backlink exports as the tools write them: their real header rows, encodings and quoting
(Ahrefs: UTF-16 LE with a BOM, tab-separated, every field quoted, newlines inside fields)."""

import codecs
import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path

AHREFS_HEADER = [
    "Referring page title",
    "Referring page URL",
    "Language",
    "Platform",
    "Referring page HTTP code",
    "Domain rating",
    "UR",
    "Domain traffic",
    "Referring domains",
    "Linked domains",
    "External links",
    "Page traffic",
    "Keywords",
    "Target URL",
    "Left context",
    "Anchor",
    "Right context",
    "Type",
    "Content",
    "Nofollow",
    "UGC",
    "Sponsored",
    "Rendered",
    "Raw",
    "Lost status",
    "Drop reason",
    "Discovered status",
    "First seen",
    "Last seen",
    "Lost",
    "Links in group",
]

SEMRUSH_HEADER = [
    "Page ascore",
    "Source title",
    "Source url",
    "Target url",
    "Anchor",
    "External links",
    "Internal links",
    "Nofollow",
    "Sponsored",
    "Ugc",
    "Text",
    "Frame",
    "Form",
    "Image",
    "Sitewide",
    "First seen",
    "Last seen",
    "New link",
    "Lost link",
]

MAJESTIC_HEADER = [
    "Target URL",
    "Source URL",
    "Anchor Text",
    "Source Crawl Date",
    "Source First Found Date",
    "FlagNoFollow",
    "FlagImageLink",
    "FlagRedirect",
    "FlagFrame",
    "FlagOldCrawl",
    "FlagAltText",
    "FlagMention",
    "SourceCitationFlow",
    "SourceTrustFlow",
    "TargetCitationFlow",
    "TargetTrustFlow",
    "SourceTopicalTrustFlow_Topic_0",
    "SourceTopicalTrustFlow_Value_0",
    "ReferringDomainTopicalTrustFlow_Topic_0",
    "ReferringDomainTopicalTrustFlow_Value_0",
]

GSC_LINKS_HEADER = ["Linking page", "Last crawled"]
GSC_TOP_LINKING_SITES_HEADER = ["Site", "Linking pages", "Target pages"]
GSC_TOP_LINKED_PAGES_HEADER = ["Target page", "Incoming links", "Linking sites"]


def ahrefs_row(
    *,
    source: str,
    target: str,
    anchor: str = "an anchor",
    title: str = "A referring page",
    dr: str = "45",
    nofollow: str = "false",
    ugc: str = "false",
    sponsored: str = "false",
    first_seen: str = "2024-01-31 10:00:00",
    last_seen: str = "2024-03-01 08:30:00",
    lost: str = "",
) -> list[str]:
    values = dict.fromkeys(AHREFS_HEADER, "")
    values.update(
        {
            "Referring page title": title,
            "Referring page URL": source,
            "Domain rating": dr,
            "Target URL": target,
            "Anchor": anchor,
            "Left context": "Read more about it",
            "Nofollow": nofollow,
            "UGC": ugc,
            "Sponsored": sponsored,
            "First seen": first_seen,
            "Last seen": last_seen,
            "Lost": lost,
            "Type": "text",
        }
    )
    return [values[name] for name in AHREFS_HEADER]


def semrush_row(
    *,
    source: str,
    target: str,
    anchor: str = "an anchor",
    title: str = "A source page",
    ascore: str = "12",
    nofollow: str = "false",
    first_seen: str = "2024-01-31",
    last_seen: str = "2024-03-01",
    lost: str = "false",
) -> list[str]:
    values = dict.fromkeys(SEMRUSH_HEADER, "false")
    values.update(
        {
            "Page ascore": ascore,
            "Source title": title,
            "Source url": source,
            "Target url": target,
            "Anchor": anchor,
            "External links": "12",
            "Internal links": "40",
            "Nofollow": nofollow,
            "Text": "true",
            "First seen": first_seen,
            "Last seen": last_seen,
            "Lost link": lost,
        }
    )
    return [values[name] for name in SEMRUSH_HEADER]


def majestic_row(
    *,
    source: str,
    target: str,
    anchor: str = "an anchor",
    crawl: str = "2024-03-01",
    first: str = "2024-01-31",
    nofollow: str = "-",
    trust_flow: str = "23",
) -> list[str]:
    values = dict.fromkeys(MAJESTIC_HEADER, "0")
    values.update(
        {
            "Target URL": target,
            "Source URL": source,
            "Anchor Text": anchor,
            "Source Crawl Date": crawl,
            "Source First Found Date": first,
            "FlagNoFollow": nofollow,
            "FlagImageLink": "-",
            "FlagRedirect": "-",
            "SourceTrustFlow": trust_flow,
            "SourceTopicalTrustFlow_Topic_0": "Computers/Internet",
        }
    )
    return [values[name] for name in MAJESTIC_HEADER]


def csv_text(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    delimiter: str = ",",
    quote_all: bool = False,
) -> str:
    out = io.StringIO()
    writer = csv.writer(
        out,
        delimiter=delimiter,
        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL,
        lineterminator="\r\n",
    )
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def ahrefs_utf16(rows: Iterable[Sequence[str]]) -> bytes:
    """Ahrefs' current export: UTF-16 LE with a BOM, tabs, every field quoted."""
    text = csv_text(AHREFS_HEADER, rows, delimiter="\t", quote_all=True)
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
