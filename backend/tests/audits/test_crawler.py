"""The crawler against sites served on loopback (real HTTP, real sockets)."""

import asyncio
import gzip
import random
import socket
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from app.audits.crawl.crawler import CrawlConfig, CrawlResume, CrawlSummary, crawl
from app.audits.page import CrawledPage, FetchError
from tests.fakes.site_server import Route, SiteServer, gzipped, html_page, redirect

AGENT = "SEOPlatformBot/0.1 (+https://github.com/seo-platform)"


def config_for(site: SiteServer, **overrides: Any) -> CrawlConfig:
    base = CrawlConfig(
        start_url=site.url + "/",
        max_pages=100,
        max_depth=10,
        include_subdomains=False,
        concurrency=4,
        per_host_concurrency=4,
        timeout=5.0,
        max_body_bytes=64 * 1024,
        user_agent=AGENT,
        allow_private_networks=True,
        parse_workers=0,
    )
    return replace(base, **overrides)


def run_crawl(
    config: CrawlConfig, resume: CrawlResume | None = None, batch_size: int = 3
) -> tuple[dict[str, CrawledPage], CrawlSummary]:
    pages: list[CrawledPage] = []
    batches: list[int] = []

    async def on_batch(batch: list[CrawledPage]) -> None:
        batches.append(len(batch))
        pages.extend(batch)

    summary = asyncio.run(crawl(config, on_batch=on_batch, resume=resume, batch_size=batch_size))
    assert all(size <= batch_size for size in batches)
    by_url = {page.url: page for page in pages}
    assert len(by_url) == len(pages), "a URL was emitted twice"
    assert summary.pages_crawled >= len(pages)
    return by_url, summary


def links(*paths: str) -> str:
    return "".join(f"<a href='{path}'>link to {path}</a>" for path in paths)


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with SiteServer() as server:
        yield server


def test_crawls_a_site_breadth_first_with_page_facts(site: SiteServer) -> None:
    site.add(
        "/",
        html_page(
            links("/a", "/b", "/missing", "/file.pdf", "http://elsewhere.invalid/x", "/a#frag"),
            title="Home",
        ),
    )
    site.add("/a", html_page(links("/c", "/"), title="A"))
    site.add("/b", html_page("<h1>B</h1>" + links("/c?utm_source=mail")))
    site.add(
        "/c",
        Route(
            body="<html><body>c</body></html>",
            headers={
                "X-Robots-Tag": "noindex",
                "Link": '<http://127.0.0.1/canon>; rel="canonical"',
            },
        ),
    )
    site.add("/file.pdf", Route(body=b"%PDF-1.4" + b"x" * 5000, content_type="application/pdf"))

    pages, summary = run_crawl(config_for(site))
    root = site.url
    assert set(pages) == {
        f"{root}/",
        f"{root}/a",
        f"{root}/b",
        f"{root}/missing",
        f"{root}/file.pdf",
        f"{root}/c",
    }
    assert summary.stopped_reason == "complete"
    assert not summary.robots_txt_found

    home = pages[f"{root}/"]
    assert (home.status_code, home.depth, home.titles, home.is_html) == (200, 0, ["Home"], True)
    assert home.content_type == "text/html"
    assert home.response_time_ms is not None
    assert home.response_time_ms > 0
    assert home.size_bytes > 0
    assert home.body_hash
    external = [link for link in home.links if not link.internal]
    assert [link.url for link in external] == ["http://elsewhere.invalid/x"]
    assert pages[f"{root}/c"].depth == 2
    assert pages[f"{root}/c"].x_robots_tag == ["noindex"]
    assert pages[f"{root}/c"].canonical_header == "http://127.0.0.1/canon"
    assert pages[f"{root}/missing"].status_code == 404
    pdf = pages[f"{root}/file.pdf"]
    assert (pdf.status_code, pdf.is_html, pdf.titles, pdf.size_bytes) == (200, False, [], 5008)
    assert pdf.is_resource
    assert not home.is_resource
    assert not pages[f"{root}/missing"].is_resource
    # Each URL fetched once; the tracking parameter and fragment did not make new URLs. One
    # URL that cannot exist is asked for once, to know what the site answers for it.
    probes = [p for p in site.requested_paths if p.endswith("-page-that-does-not-exist")]
    assert len(probes) == 1
    assert summary.missing_page_probe is not None
    assert summary.missing_page_probe["status"] == 404
    requested = [
        p for p in site.requested_paths if p not in ("/robots.txt", "/sitemap.xml", *probes)
    ]
    assert sorted(requested) == sorted(["/", "/a", "/b", "/c", "/missing", "/file.pdf"])
    assert all(r.user_agent == AGENT for r in site.requests)


def test_parse_workers_give_the_same_pages(site: SiteServer) -> None:
    for i in range(30):
        site.add(
            f"/p{i}", html_page(f"<h1>Page {i}</h1>" + links(f"/p{i + 1}", "/p0"), title=f"P{i}")
        )
    site.add("/", html_page(links("/p0")))
    inline, _ = run_crawl(config_for(site))
    pooled, _ = run_crawl(config_for(site, parse_workers=2))
    assert set(inline) == set(pooled)
    for url, page in inline.items():
        other = pooled[url]
        assert (page.titles, page.h1, page.links, page.word_count, page.body_hash) == (
            other.titles,
            other.h1,
            other.links,
            other.word_count,
            other.body_hash,
        )


def test_robots_txt_is_obeyed_and_blocked_links_are_reported(site: SiteServer) -> None:
    site.add(
        "/robots.txt",
        Route(
            content_type="text/plain",
            body=(
                "User-agent: *\nDisallow: /\n\n"
                "User-agent: SEOPlatformBot\nDisallow: /private\nAllow: /private/open\n"
                "Crawl-delay: 0.3\n"
            ),
        ),
    )
    site.add("/", html_page(links("/private/secret", "/private/open/doc", "/public")))
    site.add("/public", html_page("public"))
    site.add("/private/open/doc", html_page("open"))
    site.add("/private/secret", html_page("secret"))

    started = time.monotonic()
    pages, summary = run_crawl(config_for(site))
    elapsed = time.monotonic() - started
    root = site.url
    assert summary.robots_txt_found
    blocked = pages[f"{root}/private/secret"]
    assert blocked.blocked_by_robots
    assert blocked.status_code is None
    assert "/private/secret" not in site.requested_paths
    assert pages[f"{root}/private/open/doc"].status_code == 200
    # Crawl-delay 0.3s between the 3 page fetches (and the sitemap probe).
    assert elapsed >= 0.8


def test_sitemaps_from_robots_index_and_gzip(site: SiteServer) -> None:
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    root = site.url
    site.add("/robots.txt", Route(content_type="text/plain", body=f"Sitemap: {root}/index.xml\n"))
    site.add(
        "/index.xml",
        Route(
            content_type="application/xml",
            body=(
                f"<sitemapindex {ns}><sitemap><loc>{root}/pages.xml.gz</loc></sitemap>"
                "</sitemapindex>"
            ),
        ),
    )
    site.add(
        "/pages.xml.gz",
        gzipped(
            Route(
                body=(
                    f"<urlset {ns}><url><loc>{root}/linked</loc></url>"
                    f"<url><loc>{root}/orphan</loc></url>"
                    f"<url><loc>http://elsewhere.invalid/</loc></url></urlset>"
                )
            )
        ),
    )
    site.add("/", html_page(links("/linked")))
    site.add("/linked", html_page(links("/deeper")))
    site.add("/deeper", html_page("deep"))
    site.add("/orphan", html_page(links("/from-orphan")))
    site.add("/from-orphan", html_page("x"))

    pages, summary = run_crawl(config_for(site))
    assert summary.sitemaps_fetched == [f"{root}/index.xml", f"{root}/pages.xml.gz"]
    assert summary.sitemap_urls == {f"{root}/linked", f"{root}/orphan"}
    assert pages[f"{root}/linked"].in_sitemap
    assert pages[f"{root}/linked"].depth == 1
    assert pages[f"{root}/orphan"].in_sitemap
    assert pages[f"{root}/orphan"].depth == 0
    assert pages[f"{root}/from-orphan"].depth == 1
    assert not pages[f"{root}/deeper"].in_sitemap


_MB = 1024 * 1024
_SITEMAP_CAP = 50 * _MB


def _padded_sitemap(
    base: str, *, total: int, made: list[int], random_padding: bool, coding: str | None
) -> Callable[[], Iterator[bytes]]:
    """A sitemap of about `total` bytes made as it is sent, 1 MB at a time: `<url>` entries
    padded to about 1.2 KB, so that 50 MB of it list fewer than 50,000 URLs (only the byte
    limit is passed). `made` counts the (uncompressed) bytes made so far; `coding` "gzip"
    compresses it on the way (a .gz file, or a Content-Encoding)."""

    def stream() -> Iterator[bytes]:
        rng = random.Random(7)
        deflate = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if coding else None

        def out(data: bytes) -> bytes:
            made[0] += len(data)
            return deflate.compress(data) if deflate is not None else data

        yield out(b"<?xml version='1.0' encoding='UTF-8'?>"
                  b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>")  # fmt: skip
        number = 0
        while made[0] < total:
            entries = []
            for _ in range(850):
                pad = rng.randbytes(575).hex() if random_padding else "x" * 1150
                entries.append(f"<url><loc>{base}/p{number}</loc><!--{pad}--></url>")
                number += 1
            yield out("".join(entries).encode())
        yield out(b"</urlset>")
        if deflate is not None:
            yield deflate.flush()

    return stream


@pytest.mark.parametrize(
    ("served_as", "random_padding", "total"),
    [
        # Plain XML that never ends: the download must stop at the cap.
        ("plain", True, 400 * _MB),
        # Content-Encoding: gzip; the cap applies to the decoded bytes.
        ("content-encoding", True, 400 * _MB),
        # A .gz file of 300 KB that inflates past 50 MB: cut while inflating.
        ("gz-file", False, 60 * _MB),
    ],
)
def test_a_sitemap_over_50_mb_is_cut_at_the_cap_and_reported(
    site: SiteServer, served_as: str, random_padding: bool, total: int
) -> None:
    made = [0]
    stream = _padded_sitemap(
        site.url,
        total=total,
        made=made,
        random_padding=random_padding,
        coding=None if served_as == "plain" else "gzip",
    )
    headers = {"Content-Encoding": "gzip"} if served_as == "content-encoding" else {}
    kind = "application/gzip" if served_as == "gz-file" else "application/xml"
    site.add("/big.xml", Route(content_type=kind, headers=headers, stream=stream))
    site.add("/robots.txt", Route(content_type="text/plain", body=f"Sitemap: {site.url}/big.xml\n"))
    site.add("/", html_page("home"))
    site.add("/p0", html_page("first listed"))
    _, summary = run_crawl(config_for(site, max_pages=3, timeout=60.0))
    assert f"{site.url}/big.xml" in summary.sitemaps_fetched
    [stats] = [s for s in summary.sitemap_stats if s["url"] == f"{site.url}/big.xml"]
    assert stats["truncated"] is True
    assert stats["too_large"] is True
    # The size seen is past the cap (the download or the inflating stopped just after it).
    assert _SITEMAP_CAP < int(stats["bytes"]) < _SITEMAP_CAP + 2 * _MB  # type: ignore[call-overload]
    # The first 50 MB were read: their URLs are known (fewer than 50,000 in them).
    assert 40_000 < int(stats["urls"]) < 50_000  # type: ignore[call-overload]
    assert f"{site.url}/p0" in summary.sitemap_urls
    if served_as != "gz-file":
        # Nothing past the cap was asked for: the server stopped making the body soon
        # after it (what the sockets' buffers held aside), far from its end.
        assert made[0] < 100 * _MB


def test_plain_sitemap_xml_is_probed(site: SiteServer) -> None:
    site.add(
        "/sitemap.xml",
        Route(
            content_type="application/xml",
            body=(f"<urlset><url><loc>{site.url}/only-in-sitemap</loc></url></urlset>"),
        ),
    )
    site.add("/", html_page("home"))
    site.add("/only-in-sitemap", html_page("x"))
    pages, summary = run_crawl(config_for(site))
    assert summary.sitemaps_fetched == [f"{site.url}/sitemap.xml"]
    assert pages[f"{site.url}/only-in-sitemap"].status_code == 200


def test_redirect_chains_loops_and_hop_limit(site: SiteServer) -> None:
    root = site.url
    site.add("/", html_page(links("/r1", "/loop1", "/h0")))
    site.add("/r1", redirect("/r2", 301))
    site.add("/r2", redirect(f"{root}/final", 302))
    site.add("/final", html_page(links("/after"), title="Final"))
    site.add("/after", html_page("after"))
    site.add("/loop1", redirect("/loop2"))
    site.add("/loop2", redirect("/loop1"))
    for i in range(12):
        site.add(f"/h{i}", redirect(f"/h{i + 1}"))

    pages, _ = run_crawl(config_for(site))
    r1 = pages[f"{root}/r1"]
    assert r1.status_code == 301
    assert r1.final_status_code == 200
    assert [(hop.url, hop.status) for hop in r1.redirect_chain] == [
        (f"{root}/r1", 301),
        (f"{root}/r2", 302),
    ]
    assert r1.final_url == f"{root}/final"
    assert r1.titles == []
    final = pages[f"{root}/final"]
    assert final.titles == ["Final"]
    assert final.depth == 1
    assert f"{root}/after" in pages
    assert site.requested_paths.count("/final") == 1

    assert pages[f"{root}/loop1"].error == FetchError.REDIRECT_LOOP
    assert pages[f"{root}/h0"].error == FetchError.TOO_MANY_REDIRECTS
    assert len(pages[f"{root}/h0"].redirect_chain) == 11


def test_slow_and_trickling_pages_time_out(site: SiteServer) -> None:
    site.add("/", html_page(links("/slow", "/trickle", "/fine")))
    site.add("/slow", Route(body="<html>late</html>", delay=3))
    site.add("/trickle", Route(body="<html>" + "x" * 1000 + "</html>", chunks=10, chunk_delay=0.3))
    site.add("/fine", html_page("fine"))
    started = time.monotonic()
    pages, summary = run_crawl(config_for(site, timeout=1.0))
    assert time.monotonic() - started < 3
    assert pages[f"{site.url}/slow"].error == FetchError.TIMEOUT
    assert pages[f"{site.url}/trickle"].error == FetchError.TIMEOUT
    assert pages[f"{site.url}/fine"].status_code == 200
    assert summary.errors == {"timeout": 2}


def test_oversized_pages_are_cut_off(site: SiteServer) -> None:
    big = "<html><body>" + "word " * 30_000 + "</body></html>"
    site.add("/", html_page(links("/declared", "/streamed", "/big.bin")))
    site.add("/declared", Route(body=big))
    site.add("/streamed", Route(body=big, send_length=False))
    site.add("/big.bin", Route(body=b"x" * 200_000, content_type="application/octet-stream"))
    pages, _ = run_crawl(config_for(site, max_body_bytes=32 * 1024))
    declared = pages[f"{site.url}/declared"]
    streamed = pages[f"{site.url}/streamed"]
    assert declared.error == FetchError.TOO_LARGE
    assert declared.word_count == 0
    assert streamed.error == FetchError.TOO_LARGE
    assert streamed.word_count == 0
    assert 32 * 1024 < streamed.size_bytes < 150_000  # stopped reading early
    assert pages[f"{site.url}/big.bin"].error is None  # not HTML: its body is never read


def test_ssrf_guard_refuses_a_redirect_to_private_addresses(site: SiteServer) -> None:
    site.add("/", html_page(links("/to-internal", "/to-metadata", "/to-localhost")))
    site.add("/to-internal", redirect("http://10.0.0.1/admin"))
    site.add("/to-metadata", redirect("http://169.254.169.254/latest/meta-data/"))
    site.add("/to-localhost", redirect(f"http://localhost:{site.port}/"))
    # Private networks refused, with exactly IPv4 loopback allowed for the first hop.
    config = config_for(site, allow_private_networks=False, allowed_networks=("127.0.0.1/32",))
    pages, _ = run_crawl(config)
    for path in ("/to-internal", "/to-metadata"):
        page = pages[f"{site.url}{path}"]
        assert page.status_code == 301
        assert page.error == FetchError.BLOCKED_PRIVATE_ADDRESS
    # `localhost` may resolve to ::1 too, which the policy does not allow.
    localhost = pages[f"{site.url}/to-localhost"]
    assert localhost.error in (FetchError.BLOCKED_PRIVATE_ADDRESS, None)


def test_ssrf_guard_refuses_a_private_start_url(site: SiteServer) -> None:
    site.add("/", html_page("home"))
    pages, summary = run_crawl(config_for(site, allow_private_networks=False))
    assert pages[f"{site.url}/"].error == FetchError.BLOCKED_PRIVATE_ADDRESS
    assert site.requested_paths == []
    assert summary.errors == {"blocked_private_address": 1}


def test_page_cap_and_depth_cap(site: SiteServer) -> None:
    site.add("/", html_page(links(*(f"/p{i}" for i in range(20)))))
    for i in range(20):
        site.add(f"/p{i}", html_page(links(f"/p{i}/child")))
    pages, summary = run_crawl(config_for(site, max_pages=5))
    assert len(pages) == 5
    assert summary.stopped_reason == "max_pages"
    assert len([p for p in site.requested_paths if p.startswith("/p")]) == 4

    shallow, summary = run_crawl(config_for(site, max_depth=1))
    assert len(shallow) == 21
    assert max(p.depth for p in shallow.values()) == 1
    assert summary.stopped_reason == "complete"


def test_nofollow_pages_are_not_followed(site: SiteServer) -> None:
    site.add("/", html_page(links("/a"), head="<meta name='robots' content='noindex,nofollow'>"))
    site.add("/a", html_page("a"))
    pages, _ = run_crawl(config_for(site))
    assert list(pages) == [f"{site.url}/"]


def test_resume_fetches_only_what_is_left(site: SiteServer) -> None:
    root = site.url
    site.add("/", html_page(links("/a", "/b")))
    site.add("/a", html_page(links("/c")))
    site.add("/b", html_page(links("/d", "/a")))
    site.add("/d", html_page("d"))
    resume = CrawlResume(visited={f"{root}/", f"{root}/a"}, frontier=[(f"{root}/b", 1)])
    pages, summary = run_crawl(config_for(site), resume=resume)
    assert set(pages) == {f"{root}/b", f"{root}/d"}
    assert pages[f"{root}/d"].depth == 2
    assert summary.pages_crawled == 4
    assert "/" not in site.requested_paths
    assert "/a" not in site.requested_paths


def test_an_on_batch_error_stops_the_crawl(site: SiteServer) -> None:
    site.add("/", html_page(links(*(f"/p{i}" for i in range(50)))))

    class Stop(Exception):
        pass

    calls = 0

    async def on_batch(batch: list[CrawledPage]) -> None:
        nonlocal calls
        calls += 1
        raise Stop

    with pytest.raises(Stop):
        asyncio.run(crawl(config_for(site), on_batch=on_batch, batch_size=2))
    assert calls == 1
    assert len([p for p in site.requested_paths if p.startswith("/p")]) < 20


def test_gzip_content_encoding_is_decoded(site: SiteServer) -> None:
    body = gzip.compress(b"<html><head><title>Zipped</title></head><body>z</body></html>")
    site.add("/", Route(body=body, headers={"Content-Encoding": "gzip"}))
    pages, _ = run_crawl(config_for(site))
    assert pages[f"{site.url}/"].titles == ["Zipped"]


def test_config_for_a_project_takes_its_settings_or_the_platform_defaults() -> None:
    import uuid

    from app.core.config import Settings
    from app.projects.models import Project

    settings = Settings(MAX_CRAWL_PAGES=300, MAX_CRAWL_DEPTH=4, CRAWL_TIMEOUT=7)
    project = Project(name="p", site_url="https://example.com/", owner_id=uuid.uuid4())
    config = CrawlConfig.for_project(project, settings)
    assert (config.start_url, config.max_pages, config.max_depth) == (
        "https://example.com/",
        300,
        4,
    )
    assert config.timeout == 7
    assert config.user_agent == settings.CRAWL_USER_AGENT
    assert config.bot_token == "seoplatformbot"
    project.max_crawl_pages, project.max_crawl_depth, project.include_subdomains = 50, 0, True
    own = CrawlConfig.for_project(project, settings)
    assert (own.max_pages, own.max_depth, own.include_subdomains) == (50, 0, True)


def test_an_unreachable_robots_txt_disallows_the_site(site: SiteServer) -> None:
    site.add("/robots.txt", Route(status=503, content_type="text/plain"))
    site.add("/", html_page(links("/a")))
    pages, summary = run_crawl(config_for(site))
    assert not summary.robots_txt_found
    assert [(p.url, p.blocked_by_robots) for p in pages.values()] == [(f"{site.url}/", True)]
    assert site.requested_paths == ["/robots.txt"]


def test_a_start_host_that_does_not_answer_is_reported(site: SiteServer) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    pages, summary = run_crawl(config_for(site, start_url=f"http://127.0.0.1:{closed_port}/"))
    assert summary.robots_txt_error == "connection_error"
    assert [page.status_code for page in pages.values()] == [None]
    # A site that answers has no such error.
    site.add("/", html_page("home"))
    assert run_crawl(config_for(site))[1].robots_txt_error is None


# -- hostile bodies ----------------------------------------------------------------------

_BOMB_CHILD = """
import asyncio, json, resource, sys
from app.audits.crawl.crawler import CrawlConfig, crawl

async def main(start_url):
    pages = []
    async def on_batch(batch):
        pages.extend(batch)
    config = CrawlConfig(
        start_url=start_url, max_pages=20, max_depth=3, include_subdomains=False,
        concurrency=2, per_host_concurrency=2, timeout=60.0, max_body_bytes=2 * 1024 * 1024,
        user_agent="SEOPlatformBot/0.1", allow_private_networks=True, parse_workers=0,
    )
    summary = await crawl(config, on_batch=on_batch)
    return {
        "pages": {p.url: [p.status_code, p.error and p.error.value, p.size_bytes] for p in pages},
        "robots_txt_found": summary.robots_txt_found,
        "sitemap_urls": sorted(summary.sitemap_urls),
        "sitemaps_fetched": summary.sitemaps_fetched,
    }

results = [asyncio.run(main(url)) for url in sys.argv[1:]]
peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"results": results, "peak_rss_mb": peak_mb}))
"""


def _crawl_in_a_child_with_1_gib(*start_urls: str) -> dict[str, Any]:
    """Crawls in a child process whose address space is capped at 1 GiB: a bomb inflated
    whole kills it (MemoryError), a bounded decoder does not notice the cap."""
    import json
    import resource
    import subprocess
    import sys
    from pathlib import Path

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    child = subprocess.run(
        [sys.executable, "-c", _BOMB_CHILD, *start_urls],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=240,
        preexec_fn=cap_memory,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    report: dict[str, Any] = json.loads(child.stdout.strip().splitlines()[-1])  # after logs
    return report


def test_decompression_bombs_are_cut_off_as_they_inflate() -> None:
    from tests.fakes.bombs import double_deflate_bomb, double_gzip_bomb

    gz_gz = {"Content-Encoding": "gzip, gzip"}
    deflate_deflate = {"Content-Encoding": "deflate, deflate"}
    gz, deflate = double_gzip_bomb(), double_deflate_bomb()
    home = html_page(links("/bomb-gzip", "/bomb-deflate", "/fine"))
    pages = {
        "/": home,
        "/bomb-gzip": Route(body=gz, headers=gz_gz),
        "/bomb-deflate": Route(body=deflate, headers=deflate_deflate),
        "/fine": html_page("fine"),
    }
    # One site has a gzip bomb for robots.txt and a deflate bomb for a sitemap, the other
    # the reverse.
    text, xml = "text/plain", "application/xml"
    with (
        SiteServer(dict(pages)) as gzip_robots,
        SiteServer(dict(pages)) as deflate_robots,
    ):
        gzip_robots.add("/robots.txt", Route(body=gz, headers=gz_gz, content_type=text))
        gzip_robots.add(
            "/sitemap.xml", Route(body=deflate, headers=deflate_deflate, content_type=xml)
        )
        deflate_robots.add(
            "/robots.txt", Route(body=deflate, headers=deflate_deflate, content_type=text)
        )
        deflate_robots.add("/sitemap.xml", Route(body=gz, headers=gz_gz, content_type=xml))
        report = _crawl_in_a_child_with_1_gib(gzip_robots.url + "/", deflate_robots.url + "/")
        for site, result in zip((gzip_robots, deflate_robots), report["results"], strict=True):
            assert "/robots.txt" in site.requested_paths
            assert "/sitemap.xml" in site.requested_paths
            crawled = result["pages"]
            assert crawled[f"{site.url}/fine"] == [200, None, len(pages["/fine"].payload())]
            for path in ("/bomb-gzip", "/bomb-deflate"):
                status, error, size = crawled[f"{site.url}{path}"]
                assert (status, error) == (200, "too_large")
                assert 2 * 1024 * 1024 < size <= 3 * 1024 * 1024  # stopped at the cap
            assert result["sitemap_urls"] == []
    assert report["peak_rss_mb"] < 400


def test_bounded_decoding_of_every_coding() -> None:
    import zlib

    import httpx

    from app.audits.crawl.content_coding import BodyTooLargeError, BoundedDecoder

    text = b"<html>" + b"hello world " * 5000 + b"</html>"

    def decode(body: bytes, codings: list[str], limit: int = 1 << 20, step: int = 7) -> bytes:
        decoder = BoundedDecoder(codings, limit)
        out = b"".join(decoder.feed(body[i : i + step]) for i in range(0, len(body), step))
        assert decoder.size == len(out)
        return out

    gzipped_text = gzip.compress(text)
    assert decode(text, []) == text
    assert decode(text, ["identity"]) == text
    assert decode(gzipped_text, ["gzip"]) == text
    assert decode(gzipped_text, ["x-gzip"], step=1) == text
    assert decode(gzipped_text + gzip.compress(b"more"), ["gzip"]) == text + b"more"
    assert decode(gzipped_text + b"\x00\x00junk", ["gzip"]) == text  # trailing bytes ignored
    assert decode(zlib.compress(text), ["deflate"], step=1) == text
    raw_deflate = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    assert decode(raw_deflate.compress(text) + raw_deflate.flush(), ["Deflate"]) == text
    assert decode(zlib.compress(gzipped_text), ["gzip", "deflate"]) == text
    assert decode(gzip.compress(zlib.compress(text)), ["deflate", "gzip"]) == text
    assert decode(text, ["unknown-coding"]) == text
    assert decode(gzipped_text, ["gzip"], limit=len(text)) == text
    with pytest.raises(BodyTooLargeError):
        decode(gzipped_text, ["gzip"], limit=len(text) - 1)
    with pytest.raises(BodyTooLargeError):
        decode(text, [], limit=len(text) - 1)
    with pytest.raises(httpx.DecodingError):
        decode(b"not gzip at all", ["gzip"])
    with pytest.raises(httpx.DecodingError):  # each layer holds buffers: a few at most
        BoundedDecoder(["gzip"] * 10_000, 1 << 20)


def test_declared_sizes_are_recorded_within_the_column(site: SiteServer) -> None:
    site.add("/", html_page(links("/huge.bin")))
    site.add(
        "/huge.bin",
        Route(
            body=b"x" * 100,
            send_length=False,
            headers={"Content-Length": "99999999999999"},
            content_type="application/octet-stream",
        ),
    )
    pages, _ = run_crawl(config_for(site))
    assert pages[f"{site.url}/huge.bin"].size_bytes == 2**31 - 1


# --- Issue 14: what the crawler measures and reads -------------------------------------------


def test_response_time_is_time_to_first_byte_without_queueing_or_crawl_delay(
    site: SiteServer,
) -> None:
    """Requests waiting for the one per-host slot Crawl-delay allows are not slow: only the
    server's time to the first byte counts, and the download is reported apart."""
    site.add(
        "/robots.txt", Route(body="User-agent: *\nCrawl-delay: 0.4\n", content_type="text/plain")
    )
    site.add("/", html_page(links("/a", "/b", "/c")))
    for path in ("/a", "/b", "/c"):
        site.add(path, html_page("fast"))
    site.add("/trickle", Route(body="<html>" + "x" * 1000 + "</html>", chunks=4, chunk_delay=0.2))
    site.add("/", html_page(links("/a", "/b", "/c", "/trickle")))
    pages, _ = run_crawl(config_for(site, timeout=10.0))
    for path in ("/a", "/b", "/c"):
        page = pages[f"{site.url}{path}"]
        assert page.response_time_ms is not None
        assert page.response_time_ms < 300, (path, page.response_time_ms)
    trickle = pages[f"{site.url}/trickle"]
    assert trickle.response_time_ms is not None
    assert trickle.response_time_ms < 300
    assert trickle.download_time_ms is not None
    assert trickle.download_time_ms >= 400


def test_robots_directives_for_other_crawlers_do_not_stop_link_following(
    site: SiteServer,
) -> None:
    site.add("/", Route(body=links("/a"), headers={"X-Robots-Tag": "bingbot: noindex, nofollow"}))
    site.add("/a", html_page(links("/b")))
    site.add("/b", html_page("end"))
    site.add("/stop", html_page(links("/never"), head="<meta name='googlebot' content='nofollow'>"))
    site.add("/", Route(body=links("/a", "/stop"), headers={"X-Robots-Tag": "bingbot: nofollow"}))
    pages, _ = run_crawl(config_for(site))
    assert f"{site.url}/b" in pages  # bingbot's nofollow is not Googlebot's
    assert f"{site.url}/never" not in pages  # googlebot's is


def test_canonical_and_hreflang_targets_of_max_depth_and_nofollow_pages_are_fetched(
    site: SiteServer,
) -> None:
    head = "<link rel='canonical' href='/canon'><link rel='alternate' hreflang='de' href='/de'>"
    site.add("/", html_page(links("/deep"), head="<meta name='robots' content='nofollow'>" + head))
    site.add("/deep", html_page(links("/deeper"), head="<link rel='canonical' href='/c2'>"))
    for path in ("/canon", "/de", "/c2"):
        site.add(path, html_page("target"))
    pages, _ = run_crawl(config_for(site, max_depth=0))
    # The start page is nofollow and at the depth limit: its link is not followed, but the
    # targets its checks need are fetched.
    assert f"{site.url}/deep" not in pages
    assert pages[f"{site.url}/canon"].status_code == 200
    assert pages[f"{site.url}/de"].status_code == 200


def test_robots_txt_5xx_is_recorded_with_its_status(site: SiteServer) -> None:
    site.add("/robots.txt", Route(status=503, body="down", content_type="text/plain"))
    site.add("/", html_page("home"))
    pages, summary = run_crawl(config_for(site))
    assert summary.robots_txt_status == 503
    assert not summary.robots_txt_found
    assert pages[f"{site.url}/"].blocked_by_robots


def test_robots_txt_is_read_for_the_search_engine_too(site: SiteServer) -> None:
    site.add(
        "/robots.txt",
        Route(body="User-agent: Googlebot\nDisallow: /no-google\n", content_type="text/plain"),
    )
    site.add("/", html_page(links("/no-google", "/ok")))
    site.add("/no-google", html_page("fetched by us"))
    site.add("/ok", html_page("fine"))
    pages, _ = run_crawl(config_for(site))
    hidden = pages[f"{site.url}/no-google"]
    assert hidden.status_code == 200
    assert hidden.blocked_for_agent
    assert not hidden.blocked_by_robots
    assert not pages[f"{site.url}/ok"].blocked_for_agent


def test_redirect_adding_tracking_parameters_is_not_a_loop(site: SiteServer) -> None:
    site.add("/", html_page(links("/campaign")))
    site.add("/campaign", redirect("/campaign?utm_source=mail"))
    site.routes["/campaign?utm_source=mail"] = html_page("landed")
    pages, _ = run_crawl(config_for(site))
    page = pages[f"{site.url}/campaign"]
    assert page.error is None
    assert page.final_status_code == 200


def test_hreflang_from_link_headers_and_sitemaps(site: SiteServer) -> None:
    site.add(
        "/",
        Route(
            body=html_page(links("/en")).payload(),
            headers={
                "Link": f'<{site.url}/de>; rel="alternate"; hreflang="de", '
                f'<{site.url}/>; rel="canonical"'
            },
        ),
    )
    site.add("/en", html_page("english"))
    site.add("/de", html_page("deutsch"))
    site.add(
        "/sitemap.xml",
        Route(
            content_type="application/xml",
            body=(
                "<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9' "
                "xmlns:xhtml='http://www.w3.org/1999/xhtml'>"
                f"<url><loc>{site.url}/en</loc>"
                f"<xhtml:link rel='alternate' hreflang='fr' href='{site.url}/fr'/></url>"
                f"<url><loc>{site.url}/en</loc></url>"
                "</urlset>"
            ),
        ),
    )
    pages, _ = run_crawl(config_for(site))
    home = pages[f"{site.url}/"]
    assert [(h.lang, h.url, h.source) for h in home.hreflang] == [
        ("de", f"{site.url}/de", "header")
    ]
    assert home.canonical_header == f"{site.url}/"
    english = pages[f"{site.url}/en"]
    assert [(h.lang, h.source) for h in english.hreflang] == [("fr", "sitemap")]
    assert english.sitemap_count == 1  # listed twice in one sitemap is one sitemap


def test_external_links_are_checked_once_head_then_get(site: SiteServer) -> None:
    with SiteServer() as other:
        other.add("/ok", html_page("fine"))
        other.add("/moved", redirect("/ok"))
        other.add("/gone", Route(status=404, body="gone"))
        targets = [f"{other.url}/ok", f"{other.url}/moved", f"{other.url}/gone"]
        site.add("/", html_page(links(*targets, "/a")))
        site.add("/a", html_page(links(*targets)))
        _, summary = run_crawl(config_for(site, max_external_links=50))
        # The test server answers HEAD with 501: each target is then fetched with GET, once.
        assert sorted(other.requested_paths) == ["/gone", "/moved", "/ok"]
    assert {url: result["status"] for url, result in summary.external_links.items()} == {
        f"{other.url}/ok": 200,
        f"{other.url}/moved": 301,
        f"{other.url}/gone": 404,
    }
    _, unchecked = run_crawl(config_for(site))  # max_external_links=0: none
    assert unchecked.external_links == {}
