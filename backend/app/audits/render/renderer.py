"""The render stage: headless Chromium through Playwright's sync API.

Playwright's sync API keeps its own asyncio loop marked as running in the thread that started
it, for as long as the browser lives, and `asyncio.run()` refuses to start in such a thread.
So the browser lives in a thread of its own: every Playwright call of a renderer runs there,
and the thread that runs tasks (a crawl's `asyncio.run()` after a render stage in the same
worker process) never sees Playwright's loop.

One browser per worker process, launched on first use and reused: a launch costs far more
than a page. Every page gets a fresh context (no cookies or storage leak between pages).
Images, fonts and media are never downloaded, and every request goes through the SSRF guard:
checked by request routing first, then connected by `RenderProxy` to the address it checked.
"""

import atexit
import os
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import structlog

from app.audits.crawl.text import word_count
from app.audits.crawl.urls import SiteScope, normalize_url
from app.audits.page import CrawledPage, Link, RenderedView
from app.audits.render.proxy import RenderProxy
from app.core.net_guard import AddressPolicy, AddressRefusedError, resolve_checked

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright, Route, WebSocketRoute

    from app.core.config import Settings

log = structlog.get_logger(__name__)

T = TypeVar("T")

DEBIAN_CHROMIUM = "/usr/bin/chromium"
BLOCKED_RESOURCE_TYPES = frozenset({"image", "font", "media"})
# Chromium's own traffic (updates, sync, field trials) has no place in an audit.
CHROMIUM_ARGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
    "--disable-quic",
    "--disable-dev-shm-usage",
    # WebRTC sends its UDP (STUN, TURN, peer traffic) straight from the browser, around the
    # guarded proxy: to any address a page names, and telling it the worker's own addresses.
    # Only proxied traffic is left, and our HTTP proxy carries no UDP.
    "--webrtc-ip-handling-policy=disable_non_proxied_udp",
)
# After `load`, scripts get this long (at most) to finish fetching what they build with.
NETWORK_IDLE_WAIT_SECONDS = 3.0
QUIET_SECONDS = 0.1

_EXTRACT_JS = """() => {
  const text = (node) => (node.innerText || node.textContent || "").trim();
  return {
    title: document.title,
    h1: Array.from(document.querySelectorAll("h1")).map(text),
    links: Array.from(document.querySelectorAll("a[href]")).map((a) => ({
      href: a.href, text: text(a).slice(0, 500),
      rel: (a.getAttribute("rel") || "").toLowerCase(),
    })),
    // The main content, chosen as the crawl's parser chooses it.
    text: (() => {
      const articles = document.querySelectorAll("article");
      const root = document.querySelector("main, [role=main]")
        || (articles.length === 1 ? articles[0] : null);
      if (root) return root.innerText || root.textContent || "";
      if (!document.body) return "";
      const body = document.body.cloneNode(true);
      body.querySelectorAll("nav, header, footer, aside, [role=navigation], [role=banner], "
        + "[role=contentinfo], script, style, noscript, template, svg, math")
        .forEach((node) => node.remove());
      return body.textContent || "";
    })(),
    robots: Array.from(document.querySelectorAll("head meta[name]"))
      .filter((m) => /^(robots|[a-z0-9_-]*bot(-[a-z]+)?)$/i.test(m.getAttribute("name")))
      .map((m) => {
        const name = m.getAttribute("name").toLowerCase();
        const content = (m.getAttribute("content") || "").toLowerCase();
        return name === "robots" ? content : name + ": " + content;
      }),
    canonical: (document.querySelector("head link[rel~=canonical]") || {}).href || null,
    description: (document.querySelector("head meta[name=description]") || {}).content ?? null,
  };
}"""
# Request failures that are ours (blocked resource types, the SSRF guard), not the page's.
_OWN_ABORTS = ("net::ERR_BLOCKED_BY_CLIENT", "net::ERR_ABORTED")
MAX_REPORTED = 20

_playwright_executable: str | None = None


def _playwright_chromium() -> str | None:
    """Playwright's own Chromium, if `playwright install chromium` put one here."""
    global _playwright_executable
    if _playwright_executable is None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as playwright:
                _playwright_executable = playwright.chromium.executable_path
        except Exception:  # no driver, or called inside an event loop
            _playwright_executable = ""
    path = _playwright_executable
    return path if path and os.path.exists(path) else None


def browser_executable(settings: "Settings") -> str | None:
    if settings.BROWSER_EXECUTABLE_PATH:
        path = settings.BROWSER_EXECUTABLE_PATH
        return path if os.path.exists(path) and os.access(path, os.X_OK) else None
    return (
        _playwright_chromium()
        or shutil.which("chromium")
        or (DEBIAN_CHROMIUM if os.path.exists(DEBIAN_CHROMIUM) else None)
    )


def browser_unavailable_reason(settings: "Settings") -> str | None:
    """None when a browser can be launched; otherwise why not, in words for the report."""
    if settings.BROWSER_EXECUTABLE_PATH and browser_executable(settings) is None:
        return (
            f"BROWSER_EXECUTABLE_PATH={settings.BROWSER_EXECUTABLE_PATH} is not an executable file"
        )
    if browser_executable(settings) is None:
        return (
            "no Chromium found: run `playwright install chromium`, install Debian's chromium "
            "package, or set BROWSER_EXECUTABLE_PATH"
        )
    return None


def _render_need(page: CrawledPage) -> int:
    """How strongly the raw HTML suggests scripts build the page."""
    score = 0
    if page.word_count < 50:
        score += 3
    elif page.word_count < 150:
        score += 1
    if page.script_count >= 5:
        score += 2
    if page.script_count >= 15:
        score += 1
    if page.empty_app_root:
        score += 4
    if page.noscript_hint:
        score += 2
    if sum(1 for link in page.links if link.internal) < 3:
        score += 1
    return score


def choose_pages_to_render(pages: Sequence[CrawledPage], limit: int) -> list[str]:
    """Up to `limit` fetched HTML pages, those that look script-built first, then by depth."""
    candidates = [
        page
        for page in pages
        if page.is_html
        and page.error is None
        and page.status_code == 200
        and not page.blocked_by_robots
        and not page.redirect_chain
        # A meta refresh stub is a redirect: rendering it would follow the refresh and
        # describe another page.
        and page.meta_refresh in (None, page.final_url or page.url)
    ]
    candidates.sort(key=lambda page: (-_render_need(page), page.depth, page.url))
    return [page.url for page in candidates[: max(0, limit)]]


class _NetworkActivity:
    """Requests in flight on one page, and when the last one started or ended."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.last_change = time.monotonic()

    def started(self, _request: object) -> None:
        self.in_flight += 1
        self.last_change = time.monotonic()

    def finished(self, _request: object) -> None:
        self.in_flight = max(0, self.in_flight - 1)
        self.last_change = time.monotonic()

    def quiet(self, seconds: float) -> bool:
        return self.in_flight == 0 and time.monotonic() - self.last_change >= seconds


@dataclass(slots=True)
class _Extracted:
    title: str | None
    h1: list[str]
    links: list[Link]
    word_count: int
    meta_robots: list[str] | None = None
    canonical: str | None = None
    description: str | None = None
    console_errors: list[str] | None = None
    failed_requests: list[str] | None = None


class PageRenderer:
    """One browser for this process, reused across pages; a fresh context per page."""

    def __init__(
        self,
        settings: "Settings",
        *,
        allowed_networks: Sequence[str] = (),
    ) -> None:
        self._settings = settings
        self.timeout = settings.RENDER_TIMEOUT
        self._policy = AddressPolicy.build(
            allow_private=settings.CRAWL_ALLOW_PRIVATE_NETWORKS,
            allowed_networks=allowed_networks,
        )
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._proxy: RenderProxy | None = None
        self._browser_thread: ThreadPoolExecutor | None = None
        self.launches = 0

    def in_browser_thread(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Runs `call` in the thread that owns this renderer's Playwright (and its loop)."""
        if self._browser_thread is None:
            self._browser_thread = ThreadPoolExecutor(1, thread_name_prefix="browser")
        return self._browser_thread.submit(call, *args, **kwargs).result()

    # -- browser lifecycle -----------------------------------------------------------------

    def _ensure_browser(self) -> "Browser":
        if self._browser is not None and self._browser.is_connected():
            return self._browser
        reason = browser_unavailable_reason(self._settings)
        if reason is not None:
            raise RuntimeError(reason)
        if self._playwright is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
        if self._proxy is None:
            self._proxy = RenderProxy(self._policy).start()
        args = [
            *CHROMIUM_ARGS,
            # Everything through the guard's proxy, loopback included (Chromium would
            # otherwise go straight to loopback addresses).
            f"--proxy-server={self._proxy.url}",
            "--proxy-bypass-list=<-loopback>",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
        self._browser = self._playwright.chromium.launch(
            executable_path=browser_executable(self._settings),
            args=args,
            headless=True,
        )
        self.launches += 1
        log.info("browser launched", launches=self.launches)
        return self._browser

    def close(self) -> None:
        if self._browser_thread is None:
            return
        try:
            self.in_browser_thread(self._close_in_thread)
        except RuntimeError:
            log.debug("renderer closed at interpreter exit")  # the thread is already gone
        finally:
            self._browser_thread.shutdown(wait=False)
            self._browser_thread = None

    def _close_in_thread(self) -> None:
        if self._browser is not None:
            try:
                self._browser.close()
            except Exception:
                log.debug("browser already gone")
            self._browser = None
        if self._playwright is not None:
            try:
                self._playwright.stop()
            except Exception:
                log.debug("playwright driver already gone")
            self._playwright = None
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = None

    # -- rendering -------------------------------------------------------------------------

    def render(self, url: str, *, raw: CrawledPage) -> RenderedView:
        return self.in_browser_thread(self._render, url, raw)

    def _render(self, url: str, raw: CrawledPage) -> RenderedView:
        refusal = self._refusal(url, {})
        if refusal is not None:
            return _failed(refusal)
        for attempt in (1, 2):
            try:
                extracted = self._render_once(url)
            except Exception as exc:
                from playwright.sync_api import TimeoutError as PlaywrightTimeout

                if isinstance(exc, PlaywrightTimeout):
                    return _failed(f"timeout: no rendered page within {self.timeout}s")
                if attempt == 1 and (self._browser is None or not self._browser.is_connected()):
                    log.warning("browser died, relaunching", url=url, error=str(exc))
                    self._browser = None
                    continue
                return _failed(f"render failed: {exc}"[:500])
            return _compare(extracted, raw)
        return _failed("render failed: the browser died twice")

    def _render_once(self, url: str) -> _Extracted:
        browser = self._ensure_browser()
        deadline = time.monotonic() + self.timeout
        context = browser.new_context(
            user_agent=self._settings.CRAWL_USER_AGENT,
            service_workers="block",
            accept_downloads=False,
        )
        host_verdicts: dict[str, str | None] = {}

        def route_request(route: "Route") -> None:
            request = route.request
            blocked = request.resource_type in BLOCKED_RESOURCE_TYPES
            if blocked or self._refusal(request.url, host_verdicts) is not None:
                route.abort("blockedbyclient")
            else:
                route.continue_()

        def route_websocket(websocket: "WebSocketRoute") -> None:
            # WebSockets bypass request routing: they get the same check.
            if self._refusal(websocket.url, host_verdicts) is not None:
                websocket.close(code=1008, reason="refused by the SSRF guard")
            else:
                websocket.connect_to_server()

        try:
            context.set_default_timeout(self.timeout * 1000)
            context.route("**/*", route_request)
            context.route_web_socket("**/*", route_websocket)
            page = context.new_page()
            activity = _NetworkActivity()
            errors: list[str] = []
            failed: list[str] = []

            def on_console(message: Any) -> None:
                if message.type == "error" and len(errors) < MAX_REPORTED:
                    errors.append(str(message.text)[:300])

            def on_page_error(error: Any) -> None:
                if len(errors) < MAX_REPORTED:
                    errors.append(str(error)[:300])

            def on_failed(request: Any) -> None:
                activity.finished(request)
                reason = str(request.failure or "")
                if not reason.startswith(_OWN_ABORTS) and len(failed) < MAX_REPORTED:
                    failed.append(f"{request.url[:300]} ({reason})")

            def on_response(response: Any) -> None:
                if response.status >= 400 and len(failed) < MAX_REPORTED:
                    failed.append(f"{response.url[:300]} (HTTP {response.status})")

            page.on("request", activity.started)
            page.on("requestfinished", activity.finished)
            page.on("requestfailed", on_failed)
            page.on("console", on_console)
            page.on("pageerror", on_page_error)
            page.on("response", on_response)
            page.goto(url, wait_until="load", timeout=self.timeout * 1000)
            # Then let scripts finish what they fetch: until the network has been quiet a
            # moment (Playwright's "networkidle" always waits a full 500 ms).
            idle_deadline = min(time.monotonic() + NETWORK_IDLE_WAIT_SECONDS, deadline)
            while time.monotonic() < idle_deadline and not activity.quiet(QUIET_SECONDS):
                page.wait_for_timeout(25)
            data: dict[str, Any] = page.evaluate(_EXTRACT_JS)
            final_url = page.url
        finally:
            context.close()
        extracted = _extract(data, final_url)
        # The document's own answer is the crawl's to report, not a failed resource.
        own = normalize_url(url)
        extracted.failed_requests = [
            entry for entry in failed if normalize_url(entry.rsplit(" (", 1)[0]) != own
        ]
        extracted.console_errors = errors
        return extracted

    def _refusal(self, url: str, verdicts: dict[str, str | None]) -> str | None:
        """Why the guard refuses `url`, or None. Verdicts are cached per host for one page."""
        parts = urlsplit(url)
        if parts.scheme in ("data", "blob", "about"):
            return None
        if parts.scheme not in ("http", "https", "ws", "wss"):
            return f"scheme {parts.scheme!r} is not rendered"
        host = parts.hostname or ""
        if host in verdicts:
            return verdicts[host]
        try:
            resolve_checked(host, parts.port or 443, self._policy)
            verdict = None
        except AddressRefusedError as exc:
            verdict = f"blocked_private_address: {exc}"
        except OSError as exc:
            verdict = f"unresolvable host: {exc}"
        verdicts[host] = verdict
        return verdict


def _failed(reason: str) -> RenderedView:
    return RenderedView(title=None, h1=[], links=[], word_count=0, error=reason)


def _extract(data: dict[str, Any], final_url: str) -> _Extracted:
    scope = SiteScope(final_url, include_subdomains=False)
    links: list[Link] = []
    seen: set[tuple[str, str]] = set()
    for item in data.get("links", []):
        target = normalize_url(str(item.get("href", "")))
        if target is None:
            continue
        text = " ".join(str(item.get("text", "")).split())
        if (target, text) in seen:
            continue
        seen.add((target, text))
        rel = str(item.get("rel", "")).split()
        links.append(
            Link(
                url=target,
                anchor_text=text,
                nofollow="nofollow" in rel,
                internal=scope.contains(target),
            )
        )
    title = data.get("title")
    canonical, description = data.get("canonical"), data.get("description")
    return _Extracted(
        title=str(title) if title else None,
        h1=[" ".join(str(h).split()) for h in data.get("h1", [])],
        links=links,
        word_count=word_count(str(data.get("text", ""))),
        meta_robots=[str(value) for value in data.get("robots", [])],
        canonical=str(canonical) if canonical else None,
        description=None if description is None else str(description),
    )


def _compare(extracted: _Extracted, raw: CrawledPage) -> RenderedView:
    raw_links = {link.url for link in raw.links}
    only_rendered = list(
        dict.fromkeys(link.url for link in extracted.links if link.url not in raw_links)
    )
    return RenderedView(
        title=extracted.title,
        h1=extracted.h1,
        links=extracted.links,
        word_count=extracted.word_count,
        links_only_rendered=only_rendered,
        words_only_rendered=max(0, extracted.word_count - raw.word_count),
        meta_robots=extracted.meta_robots,
        canonical=extracted.canonical,
        description=extracted.description,
        console_errors=extracted.console_errors or [],
        failed_requests=extracted.failed_requests or [],
    )


_renderer: PageRenderer | None = None


def get_renderer(settings: "Settings") -> PageRenderer:
    """This process's renderer; its browser is closed when the process exits."""
    global _renderer
    if _renderer is None:
        _renderer = PageRenderer(settings)
        atexit.register(_close_renderer)
        try:
            from celery import signals

            signals.worker_process_shutdown.connect(_close_on_shutdown, weak=False)
        except ImportError:
            pass
    return _renderer


def _close_renderer() -> None:
    global _renderer
    if _renderer is not None:
        _renderer.close()
        _renderer = None


def _close_on_shutdown(**_: object) -> None:
    _close_renderer()
