"""What the crawler learns about one URL: the contract between the crawler, the renderer,
the checks and storage."""

from dataclasses import dataclass, field
from enum import StrEnum


class FetchError(StrEnum):
    """Why a URL has no usable response."""

    TIMEOUT = "timeout"
    CONNECTION = "connection_error"
    TOO_LARGE = "too_large"
    BLOCKED_PRIVATE_ADDRESS = "blocked_private_address"
    REDIRECT_LOOP = "redirect_loop"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    INVALID_URL = "invalid_url"
    TLS = "tls_error"


@dataclass(slots=True)
class RedirectHop:
    url: str
    status: int


@dataclass(slots=True)
class Link:
    url: str  # absolute, normalized
    anchor_text: str
    nofollow: bool
    internal: bool


@dataclass(slots=True)
class Image:
    src: str  # absolute
    alt: str | None  # None: the attribute is missing; "": present but empty
    # Both width and height are declared (attributes), so the layout reserves its box.
    sized: bool = True


@dataclass(slots=True)
class Hreflang:
    lang: str
    url: str
    source: str = "html"  # "html" | "header" (HTTP Link) | "sitemap"


@dataclass(slots=True)
class RenderedView:
    """What headless Chromium saw after scripts ran."""

    title: str | None
    h1: list[str]
    links: list[Link]
    word_count: int
    links_only_rendered: list[str] = field(default_factory=list)
    words_only_rendered: int = 0
    error: str | None = None
    # Head facts after scripts ran (None: not seen, for views stored before they were read).
    meta_robots: list[str] | None = None
    canonical: str | None = None
    description: str | None = None
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CrawledPage:
    url: str  # the URL as requested (normalized)
    depth: int
    final_url: str | None = None
    # The requested URL's own response: a redirect keeps its 3xx here, and the status its
    # chain ended on goes to final_status_code (the same value when there was no redirect).
    status_code: int | None = None
    error: FetchError | None = None
    error_detail: str | None = None
    redirect_chain: list[RedirectHop] = field(default_factory=list)
    # Time to first byte of the request alone (no queueing, no Crawl-delay), and the time
    # the body took to arrive after it.
    response_time_ms: float | None = None
    download_time_ms: float | None = None
    size_bytes: int = 0
    content_type: str | None = None
    is_html: bool = False
    x_robots_tag: list[str] = field(default_factory=list)
    canonical_header: str | None = None
    # Security headers the HTML response lacks ("strict-transport-security", ...).
    missing_security_headers: list[str] = field(default_factory=list)
    # Not a page: an image, script, style sheet or other non-HTML resource.
    is_resource: bool = False
    # Parsed from HTML (empty when not HTML)
    titles: list[str] = field(default_factory=list)
    meta_descriptions: list[str] = field(default_factory=list)
    # Robots meta tags of the head: `content` for name="robots", `name: content` for a
    # crawler's own name (`googlebot: noindex`), as X-Robots-Tag writes it.
    meta_robots: list[str] = field(default_factory=list)
    canonicals: list[str] = field(default_factory=list)  # as written (may be relative)
    h1: list[str] = field(default_factory=list)
    h2: list[str] = field(default_factory=list)
    heading_levels: list[int] = field(default_factory=list)  # document order, 1..6
    lang: str | None = None
    viewport: str | None = None
    hreflang: list[Hreflang] = field(default_factory=list)
    meta_refresh: str | None = None  # target URL of <meta http-equiv="refresh">
    word_count: int = 0
    body_hash: str | None = None
    links: list[Link] = field(default_factory=list)
    images: list[Image] = field(default_factory=list)
    structured_data_types: list[str] = field(default_factory=list)
    insecure_resources: list[str] = field(default_factory=list)  # http:// subresources
    insecure_form_actions: list[str] = field(default_factory=list)
    script_count: int = 0
    # What browsers and search engines ignore or mis-read in the markup.
    in_body: list[str] = field(default_factory=list)  # head-only tags found in <body>
    head_count: int = 1
    body_count: int = 1
    duplicate_ids: list[str] = field(default_factory=list)
    structured_data_errors: list[str] = field(default_factory=list)  # "line 3: ..."
    structured_data_missing: list[str] = field(default_factory=list)  # "Product: name"
    unsafe_blank_links: list[str] = field(default_factory=list)  # target=_blank, no noopener
    simhash: int | None = None  # of the main content, for near duplicates
    # Signs that scripts build the page (they rank pages for the render stage)
    empty_app_root: bool = False  # e.g. <div id="root"></div> with nothing inside
    noscript_hint: bool = False  # <noscript> asks for JavaScript
    # Set by the crawl as a whole
    blocked_by_robots: bool = False
    # robots.txt lets us fetch it but disallows the search engine the audit is for.
    blocked_for_agent: bool = False
    in_sitemap: bool = False
    sitemap_count: int = 0  # how many sitemaps list it
    rendered: RenderedView | None = None
    final_status_code: int | None = None
