"""The site crawler: asyncio + httpx over one guarded connection pool.

Breadth-first from the start URL, so a page's depth is its click depth. Each discovered URL
becomes exactly one emitted page (fetched, failed, or blocked by robots.txt), so
`max_pages` bounds both the work and what storage receives. URLs listed only in sitemaps are
fetched after the link crawl has run dry (their depth is 0: a sitemap is an entry point).

Memory stays flat: the frontier holds (url, depth) tuples, bodies are dropped once parsed,
and finished pages leave through `on_batch` in batches.
"""

import asyncio
import secrets
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import httpx
import structlog

from app.audits.crawl.content_coding import BodyTooLargeError, BoundedDecoder
from app.audits.crawl.directives import evaluate
from app.audits.crawl.http_pool import CrawlTransport
from app.audits.crawl.parse_pool import ParsePool, ParseSettings
from app.audits.crawl.robots import MAX_ROBOTS_BYTES, RobotsRules, robots_for_status
from app.audits.crawl.sitemaps import MAX_SITEMAP_BYTES, SitemapBody, discover_sitemaps
from app.audits.crawl.urls import DEFAULT_TRACKING_PARAMS, SiteScope, host_of, normalize_url
from app.audits.page import CrawledPage, FetchError, Hreflang, RedirectHop
from app.core.net_guard import AddressPolicy, AddressRefusedError

if TYPE_CHECKING:
    from app.core.config import Settings
    from app.projects.models import Project

log = structlog.get_logger(__name__)

DEFAULT_MAX_DEPTH = 10
MAX_REDIRECTS = 10
# An external link's check gets this long, whatever the crawl's own timeout.
EXTERNAL_LINK_TIMEOUT = 10.0
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"
# A size stored for a page fits its integer column whatever a server declares.
MAX_RECORDED_SIZE = 2**31 - 1


@dataclass(frozen=True, slots=True)
class CrawlConfig:
    start_url: str
    max_pages: int
    max_depth: int
    include_subdomains: bool
    concurrency: int
    per_host_concurrency: int
    timeout: float
    max_body_bytes: int
    user_agent: str
    allow_private_networks: bool
    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS
    # Networks reachable even when private ones are refused (tests allow exactly loopback).
    allowed_networks: tuple[str, ...] = ()
    # Parsing subprocesses; 0 parses in the event loop (small crawls, no start-up cost).
    parse_workers: int = 1
    # The search engine the audit is for: its robots.txt group and robots directives.
    robots_agent: str = "Googlebot"
    # Certificates to trust besides the system's (tests serve HTTPS with their own CA).
    ca_file: str | None = None
    # External link targets checked (HEAD, then GET), at most this many; 0: none.
    max_external_links: int = 0

    @classmethod
    def for_project(cls, project: "Project", settings: "Settings") -> "CrawlConfig":
        return cls.for_site(
            start_url=project.site_url,
            max_pages=project.max_crawl_pages or settings.MAX_CRAWL_PAGES,
            max_depth=(
                project.max_crawl_depth
                if project.max_crawl_depth is not None
                else settings.MAX_CRAWL_DEPTH
            ),
            include_subdomains=project.include_subdomains,
            settings=settings,
        )

    @classmethod
    def for_site(
        cls,
        *,
        start_url: str,
        max_pages: int,
        max_depth: int,
        include_subdomains: bool,
        settings: "Settings",
    ) -> "CrawlConfig":
        """What to crawl as given (an audit's frozen config), how from the operator's settings."""
        return cls(
            start_url=start_url,
            max_pages=max_pages,
            max_depth=max_depth,
            include_subdomains=include_subdomains,
            concurrency=settings.CRAWL_CONCURRENCY,
            per_host_concurrency=settings.CRAWL_PER_HOST_CONCURRENCY,
            timeout=settings.CRAWL_TIMEOUT,
            max_body_bytes=settings.CRAWL_MAX_BODY_BYTES,
            user_agent=settings.CRAWL_USER_AGENT,
            allow_private_networks=settings.CRAWL_ALLOW_PRIVATE_NETWORKS,
            parse_workers=settings.CRAWL_PARSE_WORKERS,
            robots_agent=settings.AUDIT_ROBOTS_AGENT,
            max_external_links=settings.AUDIT_EXTERNAL_LINKS_MAX,
        )

    @property
    def bot_token(self) -> str:
        """`SEOPlatformBot/0.1 (+...)` -> `seoplatformbot`, as robots meta tags name it."""
        return self.user_agent.split("/", 1)[0].split()[0].lower()


@dataclass(slots=True)
class CrawlResume:
    """What a retried or rescued crawl already has in storage."""

    visited: set[str]
    frontier: list[tuple[str, int]]


@dataclass(slots=True)
class CrawlSummary:
    pages_crawled: int
    stopped_reason: str  # "complete" | "max_pages"
    robots_txt_found: bool
    sitemap_urls: set[str]
    sitemaps_fetched: list[str]
    errors: dict[str, int] = field(default_factory=dict)
    # Why the start host's robots.txt had no answer (timeout, connection error...), if so.
    robots_txt_error: str | None = None
    robots_txt_status: int | None = None
    # Per sitemap: its URL count and size; URLs listed by several sitemaps.
    sitemap_stats: list[dict[str, object]] = field(default_factory=list)
    sitemap_listed_twice: int = 0
    # What the start host answers for a URL that cannot exist: {"status", "body_hash"}.
    missing_page_probe: dict[str, object] | None = None
    # External link targets checked: url -> {"status", "error"}.
    external_links: dict[str, dict[str, object]] = field(default_factory=dict)


OnBatch = Callable[[list[CrawledPage]], Awaitable[None]]


async def crawl(
    config: CrawlConfig,
    *,
    on_batch: OnBatch,
    resume: CrawlResume | None = None,
    batch_size: int = 100,
) -> CrawlSummary:
    """Crawl `config.start_url`'s site; an exception from `on_batch` stops it and propagates."""
    run = _Crawl(config, on_batch=on_batch, batch_size=batch_size)
    return await run.run(resume)


@dataclass(slots=True)
class _Response:
    """One HTTP exchange (one hop of a redirect chain)."""

    url: str
    status: int | None = None
    error: FetchError | None = None
    error_detail: str | None = None
    location: str | None = None
    content_type: str | None = None
    charset: str | None = None
    size_bytes: int = 0
    body: bytes | None = None  # only for HTML
    # A document read with keep_prefix passed its cap: `body` is its first bytes only.
    truncated: bool = False
    elapsed_ms: float = 0.0  # to the first byte of the answer (its headers)
    download_ms: float | None = None  # then the body
    x_robots_tag: list[str] = field(default_factory=list)
    canonical_header: str | None = None
    hreflang: list[Hreflang] = field(default_factory=list)  # from Link headers
    missing_security_headers: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Document:
    """A document's answer after its redirects."""

    status: int
    body: bytes
    truncated: bool
    size_bytes: int


class _HostGate:
    """Per-host concurrency, and robots.txt's Crawl-delay between request starts."""

    __slots__ = ("_delay", "_lock", "_next_start", "_slots")

    def __init__(self, concurrency: int, delay: float | None) -> None:
        self._delay = delay or 0.0
        self._slots = asyncio.Semaphore(1 if self._delay else concurrency)
        self._lock = asyncio.Lock()
        self._next_start = 0.0

    async def __aenter__(self) -> None:
        await self._slots.acquire()
        if self._delay:
            async with self._lock:
                wait = self._next_start - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                self._next_start = time.monotonic() + self._delay

    async def __aexit__(self, *exc_info: object) -> None:
        self._slots.release()


class _Crawl:
    def __init__(self, config: CrawlConfig, *, on_batch: OnBatch, batch_size: int) -> None:
        self.config = config
        self.on_batch = on_batch
        self.batch_size = batch_size
        start = normalize_url(config.start_url, tracking_params=config.tracking_params)
        if start is None:
            raise ValueError(f"not a crawlable URL: {config.start_url!r}")
        self.start_url = start
        self.scope = SiteScope(start, config.include_subdomains)
        self.policy = AddressPolicy.build(
            allow_private=config.allow_private_networks,
            allowed_networks=config.allowed_networks,
        )
        self.frontier: deque[tuple[str, int]] = deque()
        self.seen: set[str] = set()
        self.sitemap_urls: set[str] = set()
        self.sitemap_listed_twice: dict[str, int] = {}
        self.sitemap_hreflang: dict[str, list[tuple[str, str]]] = {}
        self.sitemap_stats: list[dict[str, object]] = []
        # URLs first met as <img src>: resources, whatever they answer.
        self.image_urls: set[str] = set()
        self.missing_page_probe: dict[str, object] | None = None
        self.external_links: dict[str, int] = {}  # url -> its host's count so far
        self.external_per_host: dict[str, int] = {}
        self.external_results: dict[str, dict[str, object]] = {}
        self.sitemaps_fetched: list[str] = []
        self.sitemaps_seeded = False
        self.robots: dict[str, RobotsRules] = {}
        self.robots_locks: dict[str, asyncio.Lock] = {}
        self.gates: dict[str, _HostGate] = {}
        self.batch: list[CrawledPage] = []
        self.flush_lock = asyncio.Lock()
        self.emitted = 0
        self.in_flight = 0
        self.capped = False
        self.finished = False
        self.failure: BaseException | None = None
        self.wake = asyncio.Event()
        self.errors: dict[str, int] = {}
        self.robots_error: FetchError | None = None
        self.transport: CrawlTransport | None = None
        self.request_headers = {
            "User-Agent": config.user_agent,
            "Accept": _ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        }
        self.request_timeouts = httpx.Timeout(config.timeout).as_dict()
        self.parser = ParsePool(
            ParseSettings(
                site=start,
                include_subdomains=config.include_subdomains,
                tracking_params=config.tracking_params,
                bot_token=config.bot_token,
            ),
            workers=config.parse_workers,
        )

    # -- the run ---------------------------------------------------------------------------

    async def run(self, resume: CrawlResume | None) -> CrawlSummary:
        # The transport is used directly: the client layer above it (cookies, auth, redirect
        # and event hooks) is per-request work a crawler does not want.
        ssl_context = None
        if self.config.ca_file:
            ssl_context = ssl.create_default_context(cafile=self.config.ca_file)
        self.transport = CrawlTransport(
            self.policy, max_connections=self.config.concurrency, ssl_context=ssl_context
        )
        try:
            await self.parser.start()
            main_robots = await self._robots_for(host_of(self.start_url))
            if not main_robots.disallow_all:
                await self._discover_sitemaps(main_robots)
                await self._probe_missing_page()
            self._seed(resume)
            workers = [asyncio.create_task(self._worker()) for _ in range(self.config.concurrency)]
            try:
                await asyncio.gather(*workers)
            finally:
                for worker in workers:
                    worker.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
            if self.failure is not None:
                raise self.failure
            await self._flush()
            await self._check_external_links()
        finally:
            await self.transport.aclose()
            await self.parser.close()
        visited_before = len(resume.visited) if resume else 0
        return CrawlSummary(
            pages_crawled=visited_before + self.emitted,
            stopped_reason="max_pages" if self.capped else "complete",
            robots_txt_found=main_robots.found,
            sitemap_urls=self.sitemap_urls,
            sitemaps_fetched=self.sitemaps_fetched,
            errors=self.errors,
            robots_txt_error=None if self.robots_error is None else self.robots_error.value,
            robots_txt_status=main_robots.status,
            sitemap_stats=self.sitemap_stats,
            sitemap_listed_twice=len(self.sitemap_listed_twice),
            missing_page_probe=self.missing_page_probe,
            external_links=self.external_results,
        )

    def _seed(self, resume: CrawlResume | None) -> None:
        if resume is not None:
            self.seen.update(resume.visited)
            for url, depth in resume.frontier:
                if url not in self.seen:
                    self.seen.add(url)
                    self.frontier.append((url, depth))
        if self.start_url not in self.seen:
            self.seen.add(self.start_url)
            self.frontier.appendleft((self.start_url, 0))

    def _next_item(self) -> tuple[str, int] | None:
        if self.frontier:
            return self.frontier.popleft()
        if self.in_flight == 0 and not self.sitemaps_seeded:
            # The link crawl ran dry: every link depth is final, so the URLs known only from
            # sitemaps can go now without stealing a linked page's true depth.
            self.sitemaps_seeded = True
            for url in sorted(self.sitemap_urls - self.seen):
                self._discover(url, 0)
            if self.frontier:
                return self.frontier.popleft()
        return None

    async def _worker(self) -> None:
        while not self.finished:
            item = self._next_item()
            if item is None:
                if self.in_flight == 0:
                    self.finished = True
                    self.wake.set()
                    return
                self.wake.clear()
                await self.wake.wait()
                continue
            self.in_flight += 1
            try:
                await self._process(*item)
            except Exception as exc:
                # Most likely on_batch (cancellation, storage): it ends the whole crawl.
                self.failure = exc
                self.finished = True
            finally:
                self.in_flight -= 1
                self.wake.set()

    def _discover(self, url: str, depth: int) -> bool:
        """Queue an in-scope URL once; False when the page budget is spent."""
        if url in self.seen:
            return True
        if len(self.seen) >= self.config.max_pages:
            self.capped = True
            return False
        self.seen.add(url)
        self.frontier.append((url, depth))
        return True

    # -- one URL ---------------------------------------------------------------------------

    async def _process(self, url: str, depth: int) -> None:
        rules = await self._robots_for(host_of(url))
        if not rules.allows(url):
            await self._emit(CrawledPage(url=url, depth=depth, blocked_by_robots=True))
            return
        page, final = await self._fetch_page(url, depth)
        page.blocked_for_agent = not rules.allows_agent(url, self.config.robots_agent)
        await self._emit(page)
        if final is not None:
            await self._emit(final)

    async def _fetch_page(self, url: str, depth: int) -> tuple[CrawledPage, CrawledPage | None]:
        """The page for `url`, and for a redirect, the page its chain ends on (when that is
        in scope and not yet known)."""
        page = CrawledPage(url=url, depth=depth)
        current = url
        # Redirect targets as written, tracking parameters kept: a redirect that only adds
        # them (`/a` -> `/a?utm_source=x`) goes somewhere new, and is no loop.
        chain_urls = {url}
        requested = url
        first: _Response | None = None
        response: _Response | None = None
        for _hop in range(MAX_REDIRECTS + 1):
            response = await self._request(requested)
            if first is None:
                first = response
            if response.status not in _REDIRECT_STATUSES or response.location is None:
                break
            page.redirect_chain.append(RedirectHop(url=current, status=response.status))
            written = normalize_url(response.location, base=requested, tracking_params=())
            target = normalize_url(
                response.location, base=requested, tracking_params=self.config.tracking_params
            )
            if target is None or written is None:
                response = _Response(
                    url=current, error=FetchError.INVALID_URL, error_detail=response.location
                )
                break
            if written in chain_urls:
                response = _Response(
                    url=target, error=FetchError.REDIRECT_LOOP, error_detail=f"back to {written}"
                )
                break
            chain_urls.add(written)
            current, requested = target, written
            if self.scope.contains(target):
                rules = await self._robots_for(host_of(target))
                if not rules.allows(target):
                    response = None  # the chain ends at a URL we may not fetch
                    break
        else:
            response = _Response(
                url=current,
                error=FetchError.TOO_MANY_REDIRECTS,
                error_detail=f"more than {MAX_REDIRECTS} redirects",
            )
        assert first is not None
        page.final_url = current
        self._fill(page, first)
        if not page.redirect_chain:
            await self._parse(page, first)
            return page, None
        # A redirect: its content belongs to the page it leads to.
        if response is not None and response.error is not None:
            page.error, page.error_detail = response.error, response.error_detail
        page.final_status_code = response.status if response is not None else None
        if response is not None and response.status is not None:
            page.is_resource = _is_resource(response) or url in self.image_urls
        if not self.scope.contains(current) or current in self.seen:
            return page, None
        if len(self.seen) >= self.config.max_pages:
            self.capped = True
            return page, None
        self.seen.add(current)
        final = CrawledPage(url=current, depth=depth, final_url=current)
        if response is None:
            final.blocked_by_robots = True
            return page, final
        self._fill(final, response)
        await self._parse(final, response)
        return page, final

    def _fill(self, page: CrawledPage, response: _Response) -> None:
        page.status_code = response.status
        page.final_status_code = response.status
        page.error = response.error
        page.error_detail = response.error_detail
        page.response_time_ms = round(response.elapsed_ms, 1)
        page.size_bytes = response.size_bytes
        page.content_type = response.content_type
        page.x_robots_tag = response.x_robots_tag
        page.canonical_header = response.canonical_header
        page.download_time_ms = (
            None if response.download_ms is None else round(response.download_ms, 1)
        )
        page.is_html = response.body is not None
        page.is_resource = _is_resource(response) or page.url in self.image_urls
        if page.is_html:
            page.missing_security_headers = response.missing_security_headers
        if response.error is not None:
            self.errors[response.error.value] = self.errors.get(response.error.value, 0) + 1

    async def _parse(self, page: CrawledPage, response: _Response) -> None:
        if response.body is None:
            return
        body, response.body = response.body, None
        parsed = await self.parser.parse(page, body, response.charset)
        for name in _PARSED_FIELDS:
            setattr(page, name, getattr(parsed, name))
        page.hreflang.extend(response.hreflang)
        self._note_external_links(page)
        # Canonical, hreflang and meta refresh targets are fetched even from a page at the
        # depth limit or asking not to be followed: their checks need the target's answer
        # (the page budget still bounds them).
        signals = self._extra_targets(page, with_images=False)
        if page.depth >= self.config.max_depth or self._nofollow(page):
            for extra in signals:
                if not self._discover(extra, page.depth + 1):
                    break
            return
        for link in page.links:
            if link.internal and not self._discover(link.url, page.depth + 1):
                break
        # Targets the checks need a status for, though no anchor points at them.
        for extra in [*signals, *self._extra_targets(page, with_images=True, only_images=True)]:
            if not self._discover(extra, page.depth + 1):
                break

    def _extra_targets(
        self, page: CrawledPage, *, with_images: bool, only_images: bool = False
    ) -> list[str]:
        base = page.final_url or page.url
        candidates: list[str] = []
        if not only_images:
            candidates.extend([*page.canonicals, *(h.url for h in page.hreflang)])
            if page.canonical_header:
                candidates.append(page.canonical_header)
            if page.meta_refresh:
                candidates.append(page.meta_refresh)
        images = [image.src for image in page.images] if with_images else []
        for src in images:
            url = normalize_url(src, base=base, tracking_params=self.config.tracking_params)
            if url is not None and url not in self.seen and self.scope.contains(url):
                self.image_urls.add(url)
        candidates.extend(images)
        targets = []
        for candidate in candidates:
            url = normalize_url(candidate, base=base, tracking_params=self.config.tracking_params)
            if url is not None and self.scope.contains(url) and url not in self.seen:
                targets.append(url)
        return targets

    def _nofollow(self, page: CrawledPage) -> bool:
        """The page's links are not followed when the audit's search engine would not."""
        agent = self.config.robots_agent.lower()
        return evaluate(page.meta_robots, page.x_robots_tag, agent=agent).nofollow

    async def _emit(self, page: CrawledPage) -> None:
        page.in_sitemap = page.url in self.sitemap_urls
        if page.in_sitemap:
            page.sitemap_count = self.sitemap_listed_twice.get(page.url, 1)
            alternates = self.sitemap_hreflang.get(page.url)
            if alternates and page.is_html:
                page.hreflang.extend(
                    Hreflang(lang=lang, url=href, source="sitemap") for lang, href in alternates
                )
        self.batch.append(page)
        self.emitted += 1
        if len(self.batch) >= self.batch_size:
            await self._flush()

    async def _flush(self) -> None:
        # One on_batch at a time, in order, and none after one has failed.
        async with self.flush_lock:
            if not self.batch or self.failure is not None:
                return
            batch, self.batch = self.batch, []
            await self.on_batch(batch)

    # -- HTTP ------------------------------------------------------------------------------

    def _gate(self, host: str) -> _HostGate:
        gate = self.gates.get(host)
        if gate is None:
            rules = self.robots.get(host)
            gate = _HostGate(self.config.per_host_concurrency, rules.crawl_delay if rules else None)
            self.gates[host] = gate
        return gate

    async def _request(
        self,
        url: str,
        *,
        max_bytes: int | None = None,
        method: str = "GET",
        keep_prefix: bool = False,
    ) -> _Response:
        """GET `url` (no redirects followed), its body read only when it is HTML or asked
        for with `max_bytes`, and cut off past the size cap: refused (an error, no body), or
        with `keep_prefix` kept up to the cap and marked truncated."""
        assert self.transport is not None
        result = _Response(url=url)
        limit = max_bytes or self.config.max_body_bytes
        headers_at: float | None = None
        async with self._gate(host_of(url)):
            # Timed from here: waiting for a per-host slot or a Crawl-delay is ours, not
            # the server's.
            started = time.perf_counter()
            try:
                async with asyncio.timeout(self.config.timeout):
                    request = httpx.Request(
                        method,
                        url,
                        headers=self.request_headers,
                        extensions={"timeout": self.request_timeouts},
                    )
                    response = await self.transport.handle_async_request(request)
                    headers_at = time.perf_counter()
                    try:
                        self._read_headers(result, response)
                        wants_body = method == "GET" and (
                            max_bytes is not None
                            or (
                                result.content_type is not None
                                and result.content_type.startswith(_HTML_TYPES)
                                and response.status_code not in _REDIRECT_STATUSES
                            )
                        )
                        declared = _declared_length(response)
                        if declared is not None:
                            result.size_bytes = min(declared, MAX_RECORDED_SIZE)
                            if wants_body and declared > limit and not keep_prefix:
                                result.error = FetchError.TOO_LARGE
                                result.error_detail = f"Content-Length {declared} > {limit} bytes"
                                wants_body = False
                        if wants_body:
                            await self._read_body(result, response, limit, keep_prefix)
                    finally:
                        await response.aclose()
            except TimeoutError:
                result.error = FetchError.TIMEOUT
                result.error_detail = f"no complete response within {self.config.timeout}s"
            except httpx.TimeoutException as exc:
                result.error = FetchError.TIMEOUT
                result.error_detail = type(exc).__name__
            except AddressRefusedError as exc:
                result.error = FetchError.BLOCKED_PRIVATE_ADDRESS
                result.error_detail = str(exc)
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                result.error = FetchError.INVALID_URL
                result.error_detail = str(exc)
            except (httpx.HTTPError, OSError) as exc:
                detail = str(exc) or type(exc).__name__
                result.error = FetchError.TLS if "SSL" in detail else FetchError.CONNECTION
                result.error_detail = detail[:500]
        if result.error is not None:
            result.body = None
        ended = time.perf_counter()
        result.elapsed_ms = ((headers_at or ended) - started) * 1000
        if headers_at is not None:
            result.download_ms = (ended - headers_at) * 1000
        return result

    @staticmethod
    def _read_headers(result: _Response, response: httpx.Response) -> None:
        result.status = response.status_code
        headers = response.headers
        result.location = headers.get("location")
        raw_type = headers.get("content-type")
        if raw_type:
            media, _, params = raw_type.partition(";")
            result.content_type = media.strip().lower()
            for param in params.split(";"):
                key, _, value = param.partition("=")
                if key.strip().lower() == "charset":
                    result.charset = value.strip().strip("'\"") or None
        result.x_robots_tag = [v.strip().lower() for v in headers.get_list("x-robots-tag")]
        for value in headers.get_list("link"):
            for target, params in parse_link_header(value):
                rel = params.get("rel", "").lower().split()
                if "canonical" in rel and result.canonical_header is None:
                    result.canonical_header = target
                if "alternate" in rel and params.get("hreflang"):
                    result.hreflang.append(
                        Hreflang(lang=params["hreflang"], url=target, source="header")
                    )
        result.missing_security_headers = missing_security_headers(
            headers, https=result.url.startswith("https://")
        )

    @staticmethod
    async def _read_body(
        result: _Response, response: httpx.Response, limit: int, keep_prefix: bool = False
    ) -> None:
        """The decoded body, refused once more than `limit` bytes of it would be decoded:
        raw bytes are inflated here by a bounded decoder, never by httpx's unbounded ones.
        With `keep_prefix`, the bytes decoded before the cap are kept (no more are read) and
        `size_bytes` says how large it was seen to be (decoded so far, or declared)."""
        decoder = BoundedDecoder(response.headers.get_list("content-encoding", True), limit)
        chunks: list[bytes] = []
        try:
            async for raw in response.aiter_raw():
                chunks.append(decoder.feed(raw))
        except BodyTooLargeError:
            if keep_prefix:
                result.truncated = True
                # A declared Content-Length says more than what was read, when it is larger.
                result.size_bytes = min(max(result.size_bytes, decoder.size), MAX_RECORDED_SIZE)
                result.body = b"".join(chunks)[:limit]
                return
            result.error = FetchError.TOO_LARGE
            result.error_detail = f"body larger than {limit} bytes (decoded)"
            result.size_bytes = min(decoder.size, MAX_RECORDED_SIZE)
            return
        result.size_bytes = decoder.size
        result.body = b"".join(chunks)

    async def _get_document(
        self, url: str, max_bytes: int, *, keep_prefix: bool = False
    ) -> "_Document | FetchError":
        """A small document (robots.txt, sitemap), following a few redirects; with
        `keep_prefix`, one larger than `max_bytes` is cut there and marked truncated."""
        current = url
        for _ in range(5):
            response = await self._request(current, max_bytes=max_bytes, keep_prefix=keep_prefix)
            if response.status in _REDIRECT_STATUSES and response.location:
                target = normalize_url(response.location, base=current, tracking_params=())
                if target is None:
                    return FetchError.INVALID_URL
                current = target
                continue
            if response.status is None:
                return response.error or FetchError.CONNECTION
            return _Document(
                status=response.status,
                body=response.body or b"",
                truncated=response.truncated,
                size_bytes=response.size_bytes,
            )
        return FetchError.TOO_MANY_REDIRECTS

    # -- robots.txt and sitemaps -----------------------------------------------------------

    async def _robots_for(self, host: str) -> RobotsRules:
        rules = self.robots.get(host)
        if rules is not None:
            return rules
        lock = self.robots_locks.setdefault(host, asyncio.Lock())
        async with lock:
            rules = self.robots.get(host)
            if rules is None:
                scheme = self.start_url.split("://", 1)[0]
                document = await self._get_document(
                    f"{scheme}://{host}/robots.txt", MAX_ROBOTS_BYTES
                )
                status: int | None
                if document is FetchError.BLOCKED_PRIVATE_ADDRESS:
                    # No rules: the host's pages then report the guard's refusal, which is
                    # the real reason, rather than "blocked by robots.txt".
                    status, body = 404, b""
                elif isinstance(document, FetchError):
                    status, body = None, b""
                    if host == host_of(self.start_url):
                        self.robots_error = document
                else:
                    status, body = document.status, document.body
                rules = robots_for_status(status, body, user_agent=self.config.user_agent)
                self.robots[host] = rules
                self.gates.pop(host, None)  # rebuilt with the Crawl-delay now known
                log.debug("robots.txt read", host=host, found=rules.found, delay=rules.crawl_delay)
            return rules

    async def _discover_sitemaps(self, rules: RobotsRules) -> None:
        root = self.start_url.split("/", 3)
        candidates = [*rules.sitemaps, f"{root[0]}//{root[2]}/sitemap.xml"]

        async def fetch(url: str) -> SitemapBody | None:
            # Read up to the protocol's cap and no further: a larger sitemap is reported
            # (and its first 50 MB used), never downloaded whole nor dropped unsaid.
            document = await self._get_document(url, MAX_SITEMAP_BYTES, keep_prefix=True)
            if isinstance(document, FetchError):
                return None
            return SitemapBody(
                status=document.status,
                body=document.body,
                truncated=document.truncated,
                bytes_seen=document.size_bytes,
            )

        def accept(location: str) -> str | None:
            url = normalize_url(location, tracking_params=self.config.tracking_params)
            return url if url is not None and self.scope.contains(url) else None

        found = await discover_sitemaps(
            candidates, fetch, accept_url=accept, max_urls=max(self.config.max_pages, 1000)
        )
        self.sitemap_urls = found.urls
        self.sitemaps_fetched = found.fetched
        self.sitemap_listed_twice = found.listed_twice
        self.sitemap_hreflang = found.hreflang
        self.sitemap_stats = found.stats

    def _note_external_links(self, page: CrawledPage) -> None:
        """External link targets to check once the crawl is done: at most
        max_external_links in all and a tenth of that (at least 10) per host."""
        budget = self.config.max_external_links
        per_host = max(10, budget // 10)
        for link in page.links:
            if len(self.external_links) >= budget:
                return
            if link.internal or link.url in self.external_links:
                continue
            if not link.url.startswith(("http://", "https://")):
                continue
            host = host_of(link.url)
            if self.external_per_host.get(host, 0) >= per_host:
                continue
            self.external_per_host[host] = self.external_per_host.get(host, 0) + 1
            self.external_links[link.url] = 1

    async def _check_external_links(self) -> None:
        """Each external target once (the answer is shared by every page linking to it):
        HEAD, then GET when HEAD is refused or fails; two requests at a time per host."""
        per_host: dict[str, asyncio.Semaphore] = {}

        async def check(url: str) -> None:
            gate = per_host.setdefault(host_of(url), asyncio.Semaphore(2))
            async with gate:
                try:
                    async with asyncio.timeout(EXTERNAL_LINK_TIMEOUT):
                        response = await self._request(url, method="HEAD")
                        # Servers that refuse or mishandle HEAD get a GET.
                        if response.status in (403, 405, 429, 501) or (
                            response.error == FetchError.CONNECTION
                        ):
                            response = await self._request(url, max_bytes=64 * 1024)
                except TimeoutError:
                    response = _Response(url=url, error=FetchError.TIMEOUT)
            self.external_results[url] = {
                "status": response.status,
                "error": None if response.error is None else response.error.value,
            }

        await asyncio.gather(*(check(url) for url in sorted(self.external_links)))

    async def _probe_missing_page(self) -> None:
        """Once per audit: what the start host answers for a URL that cannot exist. A site
        that answers 200 with the same page as one of its URLs has a soft 404 there."""
        root = self.start_url.split("/", 3)
        url = f"{root[0]}//{root[2]}/{secrets.token_hex(12)}-page-that-does-not-exist"
        response = await self._request(url)
        probe: dict[str, object] = {"url": url, "status": response.status, "body_hash": None}
        if response.status == 200 and response.body is not None:
            page = CrawledPage(url=url, depth=0, final_url=url, status_code=200, is_html=True)
            await self._parse_only(page, response)
            probe["body_hash"] = page.body_hash
            probe["simhash"] = page.simhash
        self.missing_page_probe = probe

    async def _parse_only(self, page: CrawledPage, response: _Response) -> None:
        body, response.body = response.body, None
        if body is not None:
            parsed = await self.parser.parse(page, body, response.charset)
            page.body_hash, page.simhash = parsed.body_hash, parsed.simhash


def _is_resource(response: _Response) -> bool:
    """An answer that is not a page: a known content type other than HTML (images,
    scripts, style sheets, PDFs...)."""
    if response.status is None or response.status in _REDIRECT_STATUSES:
        return False
    kind = response.content_type
    return kind is not None and not kind.startswith(_HTML_TYPES)


def parse_link_header(value: str) -> list[tuple[str, dict[str, str]]]:
    """`<https://a/>; rel="alternate"; hreflang="de", <...>; rel=canonical` ->
    [(target, {"rel": "alternate", "hreflang": "de"}), ...] (RFC 8288)."""
    links: list[tuple[str, dict[str, str]]] = []
    rest = value
    while "<" in rest:
        _, _, rest = rest.partition("<")
        target, closed, rest = rest.partition(">")
        if not closed:
            break
        params: dict[str, str] = {}
        segment, _, _ = rest.partition("<")
        segment = segment.rstrip().rstrip(",")
        for part in segment.split(";"):
            key, equals, raw = part.partition("=")
            if equals and key.strip():
                params[key.strip().lower()] = raw.strip().strip('"').strip()
        links.append((target.strip(), params))
    return links


def missing_security_headers(headers: httpx.Headers, *, https: bool) -> list[str]:
    """The security headers an HTML answer lacks: HSTS (on https), nosniff, and a CSP
    frame-ancestors or X-Frame-Options against framing."""
    missing = []
    if https and "strict-transport-security" not in headers:
        missing.append("strict-transport-security")
    if headers.get("x-content-type-options", "").strip().lower() != "nosniff":
        missing.append("x-content-type-options")
    csp = " ".join(headers.get_list("content-security-policy")).lower()
    if "frame-ancestors" not in csp and "x-frame-options" not in headers:
        missing.append("frame-protection")
    return missing


def _declared_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length", "").strip()
    # ASCII digits only ("²".isdigit() is true) and no more than a size can have.
    if value.isascii() and value.isdigit() and len(value) <= 19:
        return int(value)
    return None


_PARSED_FIELDS = (
    "titles",
    "meta_descriptions",
    "meta_robots",
    "canonicals",
    "h1",
    "h2",
    "heading_levels",
    "lang",
    "viewport",
    "hreflang",
    "meta_refresh",
    "word_count",
    "body_hash",
    "links",
    "images",
    "structured_data_types",
    "insecure_resources",
    "insecure_form_actions",
    "script_count",
    "error_detail",
    "in_body",
    "head_count",
    "body_count",
    "duplicate_ids",
    "structured_data_errors",
    "structured_data_missing",
    "unsafe_blank_links",
    "simhash",
    "empty_app_root",
    "noscript_hint",
)
