"""The renderer with real Chromium against pages served on loopback."""

from collections.abc import Iterator

import pytest

from app.audits.crawl.parser import parse_html
from app.audits.crawl.urls import SiteScope
from app.audits.page import CrawledPage, Link
from app.audits.render.renderer import (
    PageRenderer,
    browser_unavailable_reason,
    choose_pages_to_render,
)
from app.core.config import Settings
from tests.fakes.site_server import Route, SiteServer, html_page

pytestmark = pytest.mark.slow

SCRIPT_BUILT = """<!doctype html><html><head><title>Loading</title></head>
<body><noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>
<img src="/photo.png">
<script>
  fetch("/api/content").then((r) => r.json()).then((data) => {
    document.title = data.title;
    const root = document.getElementById("root");
    root.innerHTML = "<h1>" + data.title + "</h1><p>" + data.text + "</p>" +
      data.links.map((href) => "<a href='" + href + "'>" + href + "</a>").join("");
  });
  fetch("__SECRET__").catch(() => {});
  try { new WebSocket("__SECRET__".replace("http", "ws")); } catch (e) {}
</script></body></html>"""


def browser_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {"RENDER_TIMEOUT": 15, "CRAWL_ALLOW_PRIVATE_NETWORKS": False}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def raw_page(url: str, html: str) -> CrawledPage:
    page = CrawledPage(url=url, depth=0, final_url=url, status_code=200, is_html=True)
    parse_html(page, html, scope=SiteScope(url, include_subdomains=False))
    return page


@pytest.fixture(scope="module")
def renderer() -> Iterator[PageRenderer]:
    settings = browser_settings()
    if browser_unavailable_reason(settings) is not None:
        pytest.fail(f"the render tests need Chromium: {browser_unavailable_reason(settings)}")
    # Private networks refused, exactly 127.0.0.1 allowed: the other loopback address below
    # stands for an internal service.
    instance = PageRenderer(settings, allowed_networks=["127.0.0.1/32"])
    yield instance
    instance.close()


@pytest.fixture
def internal() -> Iterator[SiteServer]:
    with SiteServer({"/secret": Route(body="internal")}, host="127.0.0.2") as server:
        yield server


def test_rendering_reveals_script_built_content_and_links(
    renderer: PageRenderer, internal: SiteServer
) -> None:
    html = SCRIPT_BUILT.replace("__SECRET__", f"{internal.url}/secret")
    with SiteServer(
        {
            "/": Route(body=html),
            "/api/content": Route(
                content_type="application/json",
                body='{"title": "Built by script", "links": ["/one", "/two"],'
                ' "text": "seven words that only scripts write here"}',
            ),
            "/photo.png": Route(body=b"png", content_type="image/png"),
        }
    ) as site:
        raw = raw_page(f"{site.url}/", html)
        assert raw.empty_app_root
        assert raw.noscript_hint
        view = renderer.render(f"{site.url}/", raw=raw)

        assert view.error is None
        assert view.title == "Built by script"
        assert view.h1 == ["Built by script"]
        assert [link.url for link in view.links] == [f"{site.url}/one", f"{site.url}/two"]
        assert all(link.internal for link in view.links)
        assert view.links_only_rendered == [f"{site.url}/one", f"{site.url}/two"]
        assert view.words_only_rendered >= 7
        assert "/photo.png" not in site.requested_paths  # images are not downloaded
        assert internal.requested_paths == []  # the guard refused the internal address
        assert renderer._proxy is not None
        assert renderer._proxy.requests_seen > 0  # Chromium's traffic went through the guard


def test_one_browser_serves_many_pages_and_survives_a_crash(renderer: PageRenderer) -> None:
    with SiteServer({"/": html_page("<h1>Static</h1><a href='/x'>x</a>")}) as site:
        raw = raw_page(f"{site.url}/", "<h1>Static</h1><a href='/x'>x</a>")
        launches = renderer.launches
        for _ in range(3):
            view = renderer.render(f"{site.url}/", raw=raw)
            assert view.h1 == ["Static"]
            assert view.links_only_rendered == []
        assert renderer.launches == max(launches, 1)

        assert renderer._browser is not None
        # The browser goes away under the renderer (Playwright is called from its thread).
        renderer.in_browser_thread(renderer._browser.close)
        assert renderer.render(f"{site.url}/", raw=raw).h1 == ["Static"]
        assert renderer.launches == max(launches, 1) + 1


def test_guard_refuses_a_private_page_and_slow_pages_time_out(
    renderer: PageRenderer, internal: SiteServer
) -> None:
    renderer.timeout = 2
    try:
        refused = renderer.render(f"{internal.url}/secret", raw=CrawledPage(url="x", depth=0))
        assert refused.error is not None
        assert refused.error.startswith("blocked_private_address")
        assert internal.requested_paths == []
        with SiteServer({"/": Route(body="<html>late</html>", delay=4)}) as site:
            slow = renderer.render(f"{site.url}/", raw=CrawledPage(url=site.url, depth=0))
        assert slow.error is not None
        assert slow.error.startswith("timeout")
    finally:
        renderer.timeout = 15


STUN_PAGE = """<!doctype html><html><head><title>WebRTC</title></head><body><h1 id="out">-</h1>
<script>
  const pc = new RTCPeerConnection({iceServers: [{urls: "stun:127.0.0.1:__PORT__"}]});
  const found = [];
  pc.onicecandidate = (event) => {
    if (event.candidate) found.push(event.candidate.type);
    document.getElementById("out").textContent = found.join(" ") || "none";
  };
  pc.createDataChannel("leak");
  pc.createOffer().then((offer) => pc.setLocalDescription(offer));
</script></body></html>"""


def test_webrtc_sends_no_udp_around_the_proxy(renderer: PageRenderer) -> None:
    """A STUN request goes straight to its server over UDP, past the guarded proxy (and
    would tell the server the worker's addresses): it must never leave the browser."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stun:
        stun.bind(("127.0.0.1", 0))
        stun.settimeout(3.0)
        html = STUN_PAGE.replace("__PORT__", str(stun.getsockname()[1]))
        with SiteServer({"/": Route(body=html)}) as site:
            view = renderer.render(f"{site.url}/", raw=raw_page(f"{site.url}/", html))
        assert view.error is None
        assert view.title == "WebRTC"  # the page and its script did run
        try:
            datagram, sender = stun.recvfrom(2048)
        except TimeoutError:
            datagram = b""
        assert datagram == b"", f"a STUN request reached the listener from {sender}"


def test_missing_browser_is_explained() -> None:
    reason = browser_unavailable_reason(Settings(BROWSER_EXECUTABLE_PATH="/nonexistent/chrome"))
    assert reason is not None
    assert "/nonexistent/chrome" in reason
    assert browser_unavailable_reason(Settings(BROWSER_EXECUTABLE_PATH="/usr/bin/chromium")) is None


def test_pages_that_look_script_built_are_rendered_first() -> None:
    def page(url: str, **fields: object) -> CrawledPage:
        built = CrawledPage(url=url, depth=1, status_code=200, is_html=True, word_count=400)
        built.links = [
            Link(url=f"{url}/{i}", anchor_text="", nofollow=False, internal=True) for i in range(5)
        ]
        for name, value in fields.items():
            setattr(built, name, value)
        return built

    pages = [
        page("https://e.com/plain"),
        page("https://e.com/spa", empty_app_root=True, word_count=3, script_count=12),
        page("https://e.com/thin", word_count=20),
        page("https://e.com/broken", status_code=404, word_count=0),
        page("https://e.com/blocked", blocked_by_robots=True, word_count=0),
        page("https://e.com/pdf", is_html=False, word_count=0),
    ]
    assert choose_pages_to_render(pages, 10) == [
        "https://e.com/spa",
        "https://e.com/thin",
        "https://e.com/plain",
    ]
    assert choose_pages_to_render(pages, 1) == ["https://e.com/spa"]
    assert choose_pages_to_render(pages, 0) == []
