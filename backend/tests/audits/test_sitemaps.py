import asyncio
import gzip

from app.audits.crawl.sitemaps import SitemapBody, discover_sitemaps, parse_sitemap

NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def urlset(*locs: str) -> bytes:
    entries = "".join(f"<url><loc> {loc} </loc><lastmod>2024-01-01</lastmod></url>" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset {NS}>{entries}</urlset>'.encode()


def index(*locs: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f"<sitemapindex {NS}>{entries}</sitemapindex>".encode()


def test_parse_urlset_index_and_gzip() -> None:
    assert parse_sitemap(urlset("https://e.com/a", "https://e.com/b")).locations == [
        "https://e.com/a",
        "https://e.com/b",
    ]
    document = parse_sitemap(index("https://e.com/s1.xml"))
    assert document.is_index
    assert document.locations == ["https://e.com/s1.xml"]
    assert parse_sitemap(gzip.compress(urlset("https://e.com/z"))).locations == ["https://e.com/z"]
    assert parse_sitemap(b"not xml at all").locations == []


def test_entities_are_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b"<urlset><url><loc>https://e.com/&b;</loc></url></urlset>"
    )
    for location in parse_sitemap(bomb).locations:
        assert "aaaaaaaaaa" not in location


def test_gzip_is_cut_off_at_the_byte_cap() -> None:
    big = gzip.compress(urlset(*(f"https://e.com/{i}" for i in range(5000))))
    document = parse_sitemap(big, max_bytes=1000)
    assert len(document.locations) < 30


def test_discovery_follows_indexes_within_bounds() -> None:
    documents = {
        "https://e.com/index.xml": index("https://e.com/s1.xml.gz", "https://e.com/s2.xml"),
        "https://e.com/s1.xml.gz": gzip.compress(urlset("https://e.com/a", "https://other.com/x")),
        "https://e.com/s2.xml": urlset(*(f"https://e.com/p{i}" for i in range(10))),
    }
    fetched: list[str] = []

    async def fetch(url: str) -> SitemapBody | None:
        fetched.append(url)
        return SitemapBody(200, documents[url]) if url in documents else SitemapBody(404, b"")

    def accept(url: str) -> str | None:
        return url if url.startswith("https://e.com/") else None

    found = asyncio.run(
        discover_sitemaps(
            ["https://e.com/index.xml", "https://e.com/sitemap.xml"], fetch, accept_url=accept
        )
    )
    assert found.fetched == [
        "https://e.com/index.xml",
        "https://e.com/s1.xml.gz",
        "https://e.com/s2.xml",
    ]
    assert "https://other.com/x" not in found.urls
    assert len(found.urls) == 11

    capped = asyncio.run(
        discover_sitemaps(["https://e.com/index.xml"], fetch, accept_url=accept, max_urls=5)
    )
    assert len(capped.urls) == 5
    few = asyncio.run(
        discover_sitemaps(["https://e.com/index.xml"], fetch, accept_url=accept, max_sitemaps=2)
    )
    assert len(few.fetched) == 2


def test_a_gzip_file_cut_short_gives_what_it_inflates_to() -> None:
    whole = gzip.compress(urlset(*(f"https://e.com/{i}" for i in range(2000))))
    document = parse_sitemap(whole[: len(whole) // 2])
    assert 100 < len(document.locations) < 2000
    assert document.locations[0] == "https://e.com/0"
    # Two gzip members are one document, as gzip reads them.
    xml = urlset("https://e.com/a", "https://e.com/b")
    assert parse_sitemap(gzip.compress(xml[:40]) + gzip.compress(xml[40:])).locations == [
        "https://e.com/a",
        "https://e.com/b",
    ]


def test_a_sitemap_cut_at_the_download_is_reported_with_the_size_seen() -> None:
    documents = {
        "https://e.com/big.xml": SitemapBody(
            200, urlset("https://e.com/a")[:-20], truncated=True, bytes_seen=60_000_000
        ),
        "https://e.com/small.xml": SitemapBody(200, urlset("https://e.com/b")),
        "https://e.com/inflates.xml.gz": SitemapBody(200, gzip.compress(urlset("https://e.com/c"))),
    }

    async def fetch(url: str) -> SitemapBody | None:
        return documents[url]

    found = asyncio.run(discover_sitemaps(list(documents), fetch, accept_url=lambda url: url))
    assert found.urls == {"https://e.com/a", "https://e.com/b", "https://e.com/c"}
    assert [(s["bytes"], s["truncated"], s["too_large"]) for s in found.stats] == [
        (60_000_000, True, True),
        (len(urlset("https://e.com/b")), False, False),
        (len(urlset("https://e.com/c")), False, False),
    ]
