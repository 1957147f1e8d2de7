"""Sitemaps and sitemap indexes (plain or gzipped XML), bounded in count, URLs and bytes."""

import gzip
import io
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from lxml import etree

# The sitemap protocol caps a file at 50,000 URLs and 50 MB uncompressed.
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
MAX_SITEMAPS = 50
MAX_SITEMAP_URLS = 50_000

# (status, body) of a GET, or None when it failed; the crawler's guarded client.
SitemapFetch = Callable[[str], Awaitable[tuple[int, bytes] | None]]


@dataclass(slots=True)
class SitemapDocument:
    is_index: bool
    locations: list[str]


@dataclass(slots=True)
class SitemapDiscovery:
    urls: set[str] = field(default_factory=set)
    fetched: list[str] = field(default_factory=list)


def _decompress(body: bytes, max_bytes: int) -> bytes:
    if not body.startswith(b"\x1f\x8b"):
        return body[:max_bytes]
    # Read at most max_bytes + 1 so a gzip bomb is cut off, not inflated.
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
        try:
            return stream.read(max_bytes)
        except (OSError, EOFError, zlib.error):
            return b""


_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, huge_tree=False, recover=True, remove_comments=True
)


def parse_sitemap(body: bytes, *, max_bytes: int = MAX_SITEMAP_BYTES) -> SitemapDocument:
    """`<urlset>` or `<sitemapindex>`: the `<loc>` values, namespaces ignored."""
    xml = _decompress(body, max_bytes).lstrip()
    if not xml:
        return SitemapDocument(is_index=False, locations=[])
    try:
        root = etree.fromstring(xml, parser=_PARSER)
    except etree.XMLSyntaxError:
        return SitemapDocument(is_index=False, locations=[])
    if root is None:
        return SitemapDocument(is_index=False, locations=[])
    is_index = etree.QName(root).localname == "sitemapindex"
    child = "sitemap" if is_index else "url"
    locations: list[str] = []
    for entry in root:
        if not isinstance(entry.tag, str) or etree.QName(entry).localname != child:
            continue
        for node in entry:
            if isinstance(node.tag, str) and etree.QName(node).localname == "loc" and node.text:
                locations.append(node.text.strip())
                break
    return SitemapDocument(is_index=is_index, locations=locations)


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
        if response is None or response[0] != 200:
            continue
        found.fetched.append(sitemap_url)
        document = parse_sitemap(response[1])
        for location in document.locations:
            if document.is_index:
                if location not in seen:
                    seen.add(location)
                    queue.append(location)
                continue
            page_url = accept_url(location)
            if page_url is not None:
                found.urls.add(page_url)
                if len(found.urls) >= max_urls:
                    break
    return found
