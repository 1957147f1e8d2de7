"""Sitemaps and sitemap indexes (plain or gzipped XML), bounded in count, URLs and bytes."""

import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from lxml import etree

# The sitemap protocol caps a file at 50,000 URLs and 50 MB uncompressed.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
MAX_SITEMAPS = 50
MAX_SITEMAP_URLS = 50_000
MAX_ALTERNATES = 100  # hreflang alternates kept per URL


@dataclass(frozen=True, slots=True)
class SitemapBody:
    """A sitemap's answer. A download that passed the byte cap stops there: `body` holds
    its first bytes, `bytes_seen` how large it was seen to be."""

    status: int
    body: bytes
    truncated: bool = False
    bytes_seen: int = 0


# The answer to a GET, or None when it failed; the crawler's guarded client.
SitemapFetch = Callable[[str], Awaitable[SitemapBody | None]]


@dataclass(slots=True)
class SitemapDocument:
    is_index: bool
    locations: list[str]
    # <xhtml:link rel="alternate" hreflang> of each <url>: loc -> [(lang, href)].
    alternates: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    size_bytes: int = 0  # uncompressed
    too_large: bool = False


@dataclass(slots=True)
class SitemapDiscovery:
    urls: set[str] = field(default_factory=set)
    fetched: list[str] = field(default_factory=list)
    # How many sitemaps list each URL (only URLs listed more than once).
    listed_twice: dict[str, int] = field(default_factory=dict)
    hreflang: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # Per sitemap: {"url", "urls", "bytes", "too_large"}.
    stats: list[dict[str, object]] = field(default_factory=list)


def _decompress(body: bytes, max_bytes: int) -> bytes:
    """At most max_bytes + 1 bytes (one more says it was larger), so a gzip bomb is cut
    off, not inflated. A gzip stream cut short (its download stopped at the cap) gives what
    it inflates to so far; a corrupt one gives what came before the damage."""
    if not body.startswith(b"\x1f\x8b"):
        return body[: max_bytes + 1]
    out: list[bytes] = []
    room = max_bytes + 1
    rest = body
    # One gzip member after another (a file may hold several), each bounded by what is left.
    while rest.startswith(b"\x1f\x8b") and room > 0:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            piece = inflater.decompress(rest, room)
        except zlib.error:
            break
        out.append(piece)
        room -= len(piece)
        if not inflater.eof:
            break
        rest = inflater.unused_data
    return b"".join(out)


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=True, remove_comments=True
)


def parse_sitemap(body: bytes, *, max_bytes: int = MAX_SITEMAP_BYTES) -> SitemapDocument:
    """`<urlset>` or `<sitemapindex>`: the `<loc>` values and hreflang alternates,
    namespaces ignored."""
    xml = _decompress(body, max_bytes)
    # Past the cap, the size is max_bytes + 1: "more than the cap".
    size, too_large = len(xml), len(xml) > max_bytes
    xml = xml[:max_bytes].lstrip()
    if not xml:
        return SitemapDocument(is_index=False, locations=[], size_bytes=size, too_large=too_large)
    try:
        root = etree.fromstring(xml, parser=_PARSER)
    except etree.XMLSyntaxError:
        return SitemapDocument(is_index=False, locations=[])
    if root is None:
        return SitemapDocument(is_index=False, locations=[])
    is_index = etree.QName(root).localname == "sitemapindex"
    child = "sitemap" if is_index else "url"
    locations: list[str] = []
    alternates: dict[str, list[tuple[str, str]]] = {}
    for entry in root:
        if not isinstance(entry.tag, str) or etree.QName(entry).localname != child:
            continue
        loc: str | None = None
        links: list[tuple[str, str]] = []
        for node in entry:
            if not isinstance(node.tag, str):
                continue
            name = etree.QName(node).localname
            if name == "loc" and node.text and loc is None:
                loc = node.text.strip()
            elif name == "link" and (node.get("rel") or "").strip().lower() == "alternate":
                lang, href = (node.get("hreflang") or "").strip(), (node.get("href") or "").strip()
                if lang and href:
                    links.append((lang, href))
        if loc is not None:
            locations.append(loc)
            if links:
                alternates[loc] = links
    return SitemapDocument(
        is_index=is_index,
        locations=locations,
        alternates=alternates,
        size_bytes=size,
        too_large=too_large,
    )


async def discover_sitemaps(
    candidates: list[str],
    fetch: SitemapFetch,
    *,
    accept_url: Callable[[str], str | None],
    max_sitemaps: int = MAX_SITEMAPS,
    max_urls: int = MAX_SITEMAP_URLS,
) -> SitemapDiscovery:
    """Fetch sitemaps breadth-first from `candidates` (robots.txt `Sitemap:` lines and
    `/sitemap.xml`), following indexes. `accept_url` normalizes a listed page URL and returns
    None for one outside the crawl's scope."""
    found = SitemapDiscovery()
    queue = list(dict.fromkeys(candidates))
    seen = set(queue)
    while queue and len(found.fetched) < max_sitemaps and len(found.urls) < max_urls:
        sitemap_url = queue.pop(0)
        response = await fetch(sitemap_url)
        if response is None or response.status != 200:
            continue
        found.fetched.append(sitemap_url)
        document = parse_sitemap(response.body)
        # Cut at the download (the body passed the cap) or while inflating a .gz file.
        truncated = response.truncated or document.too_large
        found.stats.append(
            {
                "url": sitemap_url,
                "urls": len(document.locations),
                "bytes": response.bytes_seen if response.truncated else document.size_bytes,
                "truncated": truncated,
                "too_large": truncated or len(document.locations) > MAX_SITEMAP_URLS,
            }
        )
        listed: set[str] = set()
        for location in document.locations:
            if document.is_index:
                if location not in seen:
                    seen.add(location)
                    queue.append(location)
                continue
            page_url = accept_url(location)
            if page_url is None or page_url in listed:
                continue
            listed.add(page_url)
            if page_url in found.urls:
                found.listed_twice[page_url] = found.listed_twice.get(page_url, 1) + 1
                continue
            if len(found.urls) >= max_urls:
                continue
            found.urls.add(page_url)
            if location in document.alternates:
                found.hreflang[page_url] = document.alternates[location][:MAX_ALTERNATES]
    return found
