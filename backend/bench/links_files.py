"""Generated backlink exports of a given size, as the tools write them: Ahrefs (UTF-16 LE
with a BOM, tab-separated, every field quoted, 1 anchor in 50 over two lines) and Semrush
(UTF-8 CSV). Used by bench.links_import and by the large-file test (no settings touched)."""

import codecs
import csv
import random
from datetime import date, timedelta
from pathlib import Path

SITE = "https://example.com"

AHREFS_HEADER = [
    "Referring page title", "Referring page URL", "Language", "Platform",
    "Referring page HTTP code", "Domain rating", "UR", "Domain traffic", "Referring domains",
    "Linked domains", "External links", "Page traffic", "Keywords", "Target URL",
    "Left context", "Anchor", "Right context", "Type", "Content", "Nofollow", "UGC",
    "Sponsored", "Rendered", "Raw", "Lost status", "Drop reason", "Discovered status",
    "First seen", "Last seen", "Lost", "Links in group",
]  # fmt: skip
SEMRUSH_HEADER = [
    "Page ascore", "Source title", "Source url", "Target url", "Anchor", "External links",
    "Internal links", "Nofollow", "Sponsored", "Ugc", "Text", "Frame", "Form", "Image",
    "Sitewide", "First seen", "Last seen", "New link", "Lost link",
]  # fmt: skip
WORDS = [
    *("seo", "guide", "best", "tools", "review", "how", "to", "rank", "links", "marketing"),
    *("content", "analytics", "search", "page", "site", "blog", "news", "tips", "free"),
    *("online", "top", "ultimate", "complete", "beginner", "advanced"),
]


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _day(rng: random.Random) -> date:
    return date(2022, 1, 1) + timedelta(days=rng.randrange(1000))


def generate(path: Path, kind: str, megabytes: int, seed: int = 7) -> None:
    """Writes an export of about `megabytes`: links from 30,000 referring domains to 500
    pages of the site, dated over three years, 1 in 50 anchors over two lines (Ahrefs)."""
    rng = random.Random(seed)
    limit = megabytes * 1024 * 1024
    domains = [f"{_words(rng, 1, 1)}{i}.example-{i % 97}.net" for i in range(30_000)]
    targets = [f"{SITE}/{_words(rng, 1, 3).replace(' ', '-')}/{i}" for i in range(500)]
    ahrefs = kind == "ahrefs"
    with path.open("wb") as binary:
        if ahrefs:
            binary.write(codecs.BOM_UTF16_LE)
        text = codecs.getwriter("utf-16-le" if ahrefs else "utf-8")(binary)
        writer = csv.writer(
            text,
            delimiter="\t" if ahrefs else ",",
            quoting=csv.QUOTE_ALL if ahrefs else csv.QUOTE_MINIMAL,
            lineterminator="\r\n" if ahrefs else "\n",
        )
        writer.writerow(AHREFS_HEADER if ahrefs else SEMRUSH_HEADER)
        row = 0
        while binary.tell() < limit:
            row += 1
            domain = rng.choice(domains)
            www = "www." if row % 3 else ""
            source = f"https://{www}{domain}/{_words(rng, 1, 4).replace(' ', '/')}/{row}"
            target = rng.choice(targets)
            anchor = _words(rng, 1, 5)
            if ahrefs and row % 50 == 0:
                anchor += "\n" + _words(rng, 1, 3)
            first = _day(rng)
            last = first + timedelta(days=rng.randrange(300))
            nofollow = "true" if row % 4 == 0 else "false"
            if ahrefs:
                lost = (last + timedelta(days=3)).isoformat() if row % 10 == 0 else ""
                writer.writerow(
                    [
                        _words(rng, 3, 9).title(), source, "en", "cms", "200",
                        *(str(rng.randint(0, top)) for top in (90, 60, 10**6, 5000, 300, 200)),
                        str(rng.randint(0, 10**5)), str(rng.randint(0, 1000)), target,
                        _words(rng, 2, 6), anchor, _words(rng, 2, 6), "text", "true", nofollow,
                        "false", "false", "true", "true", "removed" if lost else "", "", "",
                        f"{first.isoformat()} 10:00:00", f"{last.isoformat()} 08:30:00", lost,
                        "1",
                    ]
                )  # fmt: skip
            else:
                writer.writerow(
                    [
                        str(rng.randint(0, 100)), _words(rng, 3, 9).title(), source, target,
                        anchor, str(rng.randint(0, 300)), str(rng.randint(0, 300)), nofollow,
                        "false", "false", "true", "false", "false", "false", "false",
                        first.strftime("%b %d, %Y"), last.strftime("%b %d, %Y"), "false",
                        "true" if row % 10 == 0 else "false",
                    ]
                )  # fmt: skip
