"""Single-page checks: each is a plain function of one crawled page that returns the
issue's details, or None when the page passes.

`page_facts` derives what storage and the site-wide checks need (indexability, the resolved
canonical) with the same rules the checks use, so the two never disagree.
"""

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.audits.checks import catalogue as c
from app.audits.checks.codes import language_of, valid_hreflang, valid_lang
from app.audits.checks.pixels import DESCRIPTION_FONT_PX, TITLE_FONT_PX, text_px
from app.audits.crawl.directives import Directives, evaluate
from app.audits.crawl.urls import normalize_url
from app.audits.page import CrawledPage, FetchError
from app.core.config import settings

Details = dict[str, Any]
PageCheck = Callable[[CrawledPage], Details | None]

PAGE_CHECKS: dict[str, PageCheck] = {}

# Examples kept in details are capped: the issue row says what is wrong, not everything.
MAX_EXAMPLES = 10

# Titles and headings of "not found" pages, in the common languages.
_NOT_FOUND = re.compile(
    r"\b404\b|page not found|not be found|\bnot found\b|nicht gefunden|no encontrad|"
    r"introuvable|non trovat|niet gevonden|não encontrad|nie znaleziono|找不到|未找到|"
    r"見つかりません|찾을 수 없",
    re.IGNORECASE,
)
_GENERIC_ANCHORS = frozenset(
    {
        "click here", "click", "here", "read more", "more", "learn more", "more info",
        "more information", "this", "link", "this link", "continue", "continue reading", "go",
        "details", "see more", "find out more", "hier", "hier klicken", "mehr", "weiterlesen",
        "cliquez ici", "ici", "en savoir plus", "lire la suite", "haga clic aquí", "aquí",
        "leer más", "más", "clicca qui", "qui", "leggi di più",
    }
)  # fmt: skip
_PRIVATE_HOST_SUFFIXES = (".localhost", ".local", ".internal", ".lan")
_UNREACHABLE = frozenset(
    {
        FetchError.CONNECTION,
        FetchError.BLOCKED_PRIVATE_ADDRESS,
        FetchError.INVALID_URL,
        FetchError.TLS,
    }
)


def page_check(code: str) -> Callable[[PageCheck], PageCheck]:
    if code not in c.CATALOGUE or c.CATALOGUE[code].scope != "page":
        raise ValueError(f"{code} is not a page check of the catalogue")

    def register(check: PageCheck) -> PageCheck:
        PAGE_CHECKS[code] = check
        return check

    return register


@dataclass(frozen=True, slots=True)
class PageFacts:
    noindex: bool
    nofollow: bool
    canonical_url: str | None  # the first canonical, resolved and normalized
    indexable: bool
    internal_link_count: int
    external_link_count: int


def directives(page: CrawledPage) -> Directives:
    """The page's robots directives as the audit's search engine reads them: meta tags and
    X-Robots-Tag values for every crawler or naming it; values naming another crawler
    (`bingbot: noindex`) do not count."""
    return evaluate(page.meta_robots, page.x_robots_tag, agent=settings.AUDIT_ROBOTS_AGENT)


def _page_address(page: CrawledPage) -> str:
    return page.final_url or page.url


def is_refresh_stub(page: CrawledPage) -> bool:
    """A page that sends visitors elsewhere with a meta refresh: a redirect, as search
    engines treat it, not a content page."""
    return page.meta_refresh is not None and page.meta_refresh != _page_address(page)


def is_content_page(page: CrawledPage) -> bool:
    """An HTML page that answered 200 and is not a meta refresh stub: what the content
    checks (titles, headings, words, viewport...) judge."""
    return is_ok_html(page) and not is_refresh_stub(page)


def resolved_canonicals(page: CrawledPage) -> list[str]:
    base = _page_address(page)
    resolved = [normalize_url(href, base=base) for href in page.canonicals]
    return [url for url in resolved if url is not None]


def page_facts(page: CrawledPage) -> PageFacts:
    found = directives(page)
    noindex, nofollow = found.noindex, found.nofollow
    canonicals = resolved_canonicals(page)
    canonical = canonicals[0] if canonicals else None
    if canonical is None and page.canonical_header:
        canonical = normalize_url(page.canonical_header, base=_page_address(page))
    indexable = (
        is_ok_html(page)
        and not noindex
        and not page.blocked_by_robots
        and not page.blocked_for_agent
        and not page.redirect_chain
        and not is_refresh_stub(page)
        and (canonical is None or canonical == _page_address(page))
    )
    internal = sum(1 for link in page.links if link.internal)
    return PageFacts(
        noindex=noindex,
        nofollow=nofollow,
        canonical_url=canonical,
        indexable=indexable,
        internal_link_count=internal,
        external_link_count=len(page.links) - internal,
    )


def is_ok_html(page: CrawledPage) -> bool:
    return page.error is None and page.status_code == 200 and page.is_html


def run_page_checks(page: CrawledPage) -> list[tuple[str, Details]]:
    """Every page check that fires on the page, as (code, details)."""
    found = []
    for code, check in PAGE_CHECKS.items():
        details = check(page)
        if details is not None:
            found.append((code, details))
    return found


def _first_nonblank(values: list[str]) -> str | None:
    for value in values:
        if value.strip():
            return value.strip()
    return None


# --- Response status -------------------------------------------------------------------


@page_check("http_4xx")
def http_4xx(page: CrawledPage) -> Details | None:
    status = page.status_code
    return {"status_code": status} if status is not None and 400 <= status < 500 else None


@page_check("http_5xx")
def http_5xx(page: CrawledPage) -> Details | None:
    status = page.status_code
    return {"status_code": status} if status is not None and status >= 500 else None


@page_check("fetch_failed")
def fetch_failed(page: CrawledPage) -> Details | None:
    if page.error in _UNREACHABLE:
        return {"error": str(page.error), "detail": page.error_detail}
    return None


@page_check("fetch_timeout")
def fetch_timeout(page: CrawledPage) -> Details | None:
    return {"detail": page.error_detail} if page.error == FetchError.TIMEOUT else None


@page_check("body_too_large")
def body_too_large(page: CrawledPage) -> Details | None:
    return {"size_bytes": page.size_bytes} if page.error == FetchError.TOO_LARGE else None


# --- Redirects -------------------------------------------------------------------------


def _chain(page: CrawledPage) -> list[str]:
    return [hop.url for hop in page.redirect_chain] + [_page_address(page)]


@page_check("redirect_chain")
def redirect_chain(page: CrawledPage) -> Details | None:
    if len(page.redirect_chain) >= 2 or page.error == FetchError.TOO_MANY_REDIRECTS:
        return {"hops": len(page.redirect_chain), "chain": _chain(page)[: MAX_EXAMPLES + 1]}
    return None


@page_check("redirect_loop")
def redirect_loop(page: CrawledPage) -> Details | None:
    if page.error == FetchError.REDIRECT_LOOP:
        return {"chain": _chain(page)[: MAX_EXAMPLES + 1]}
    return None


@page_check("redirect_to_error")
def redirect_to_error(page: CrawledPage) -> Details | None:
    final = page.final_status_code
    if page.redirect_chain and final is not None and final >= 400:
        return {"final_url": page.final_url, "status_code": final}
    return None


@page_check("redirect_temporary")
def redirect_temporary(page: CrawledPage) -> Details | None:
    hops = [hop for hop in page.redirect_chain if hop.status in (302, 303, 307)]
    if not hops:
        return None
    return {
        "urls": [hop.url for hop in hops][:MAX_EXAMPLES],
        "codes": sorted({hop.status for hop in hops}),
    }


@page_check("meta_refresh")
def meta_refresh(page: CrawledPage) -> Details | None:
    return {"target": page.meta_refresh} if page.meta_refresh else None


# --- Titles ----------------------------------------------------------------------------


@page_check("title_missing")
def title_missing(page: CrawledPage) -> Details | None:
    return {} if is_content_page(page) and not page.titles else None


@page_check("title_empty")
def title_empty(page: CrawledPage) -> Details | None:
    if is_content_page(page) and page.titles and _first_nonblank(page.titles) is None:
        return {}
    return None


@page_check("title_multiple")
def title_multiple(page: CrawledPage) -> Details | None:
    if is_content_page(page) and len(page.titles) > 1:
        return {"titles": page.titles[:MAX_EXAMPLES]}
    return None


def title_px(page: CrawledPage) -> int | None:
    title = _first_nonblank(page.titles)
    return None if title is None else text_px(title, TITLE_FONT_PX)


def description_px(page: CrawledPage) -> int | None:
    text = _first_nonblank(page.meta_descriptions)
    return None if text is None else text_px(text, DESCRIPTION_FONT_PX)


@page_check("title_too_long")
def title_too_long(page: CrawledPage) -> Details | None:
    title, pixels = _first_nonblank(page.titles), title_px(page)
    if is_content_page(page) and title and pixels is not None and pixels > c.TITLE_MAX_PX:
        return {"pixels": pixels, "length": len(title), "title": title}
    return None


@page_check("title_too_short")
def title_too_short(page: CrawledPage) -> Details | None:
    title, pixels = _first_nonblank(page.titles), title_px(page)
    if is_content_page(page) and title and pixels is not None and pixels < c.TITLE_MIN_PX:
        return {"pixels": pixels, "length": len(title), "title": title}
    return None


# --- Meta descriptions -----------------------------------------------------------------


@page_check("meta_description_missing")
def meta_description_missing(page: CrawledPage) -> Details | None:
    if is_content_page(page) and _first_nonblank(page.meta_descriptions) is None:
        return {}
    return None


@page_check("meta_description_multiple")
def meta_description_multiple(page: CrawledPage) -> Details | None:
    if is_content_page(page) and len(page.meta_descriptions) > 1:
        return {"meta_descriptions": page.meta_descriptions[:MAX_EXAMPLES]}
    return None


@page_check("meta_description_too_long")
def meta_description_too_long(page: CrawledPage) -> Details | None:
    text, pixels = _first_nonblank(page.meta_descriptions), description_px(page)
    if is_content_page(page) and text and pixels is not None and pixels > c.META_DESCRIPTION_MAX_PX:
        return {"pixels": pixels, "length": len(text)}
    return None


@page_check("meta_description_too_short")
def meta_description_too_short(page: CrawledPage) -> Details | None:
    text, pixels = _first_nonblank(page.meta_descriptions), description_px(page)
    if is_content_page(page) and text and pixels is not None and pixels < c.META_DESCRIPTION_MIN_PX:
        return {"pixels": pixels, "length": len(text)}
    return None


# --- Headings --------------------------------------------------------------------------


@page_check("h1_missing")
def h1_missing(page: CrawledPage) -> Details | None:
    return {} if is_content_page(page) and _first_nonblank(page.h1) is None else None


@page_check("h1_multiple")
def h1_multiple(page: CrawledPage) -> Details | None:
    if is_content_page(page) and len(page.h1) > 1:
        return {"h1": page.h1[:MAX_EXAMPLES]}
    return None


@page_check("heading_order")
def heading_order(page: CrawledPage) -> Details | None:
    if not is_content_page(page) or not page.heading_levels:
        return None
    previous = 0
    for level in page.heading_levels:
        if level > previous + 1:
            return {"from": f"h{previous}" if previous else None, "to": f"h{level}"}
        previous = level
    return None


# --- Content ---------------------------------------------------------------------------


@page_check("thin_content")
def thin_content(page: CrawledPage) -> Details | None:
    if is_content_page(page) and page.word_count < c.THIN_CONTENT_WORDS:
        return {"word_count": page.word_count}
    return None


@page_check("lang_missing")
def lang_missing(page: CrawledPage) -> Details | None:
    return {} if is_content_page(page) and not (page.lang or "").strip() else None


@page_check("viewport_missing")
def viewport_missing(page: CrawledPage) -> Details | None:
    return {} if is_content_page(page) and not (page.viewport or "").strip() else None


@page_check("html_too_large")
def html_too_large(page: CrawledPage) -> Details | None:
    if page.is_html and page.size_bytes > c.LARGE_HTML_BYTES:
        return {"size_bytes": page.size_bytes}
    return None


@page_check("slow_response")
def slow_response(page: CrawledPage) -> Details | None:
    elapsed = page.response_time_ms
    if elapsed is not None and elapsed > c.SLOW_RESPONSE_MS:
        download = page.download_time_ms
        return {
            "response_time_ms": round(elapsed),
            "download_time_ms": None if download is None else round(download),
        }
    return None


@page_check("structured_data_missing")
def structured_data_missing(page: CrawledPage) -> Details | None:
    return {} if is_content_page(page) and not page.structured_data_types else None


# --- Indexability ----------------------------------------------------------------------


@page_check("noindex")
def noindex(page: CrawledPage) -> Details | None:
    if is_ok_html(page) and page_facts(page).noindex:
        return {"meta_robots": page.meta_robots, "x_robots_tag": page.x_robots_tag}
    return None


@page_check("nofollow_page")
def nofollow_page(page: CrawledPage) -> Details | None:
    if is_ok_html(page) and page_facts(page).nofollow:
        return {"meta_robots": page.meta_robots, "x_robots_tag": page.x_robots_tag}
    return None


@page_check("sitemap_noindex")
def sitemap_noindex(page: CrawledPage) -> Details | None:
    return {} if page.in_sitemap and is_ok_html(page) and page_facts(page).noindex else None


@page_check("sitemap_non_200")
def sitemap_non_200(page: CrawledPage) -> Details | None:
    if not page.in_sitemap or page.blocked_by_robots:
        return None
    if page.error is not None or page.status_code != 200 or page.redirect_chain:
        return {
            "status_code": page.status_code,
            "error": page.error and str(page.error),
            "redirects_to": page.final_url if page.redirect_chain else None,
        }
    return None


@page_check("sitemap_non_canonical")
def sitemap_non_canonical(page: CrawledPage) -> Details | None:
    if not page.in_sitemap or not is_ok_html(page) or page.redirect_chain:
        return None
    canonical = page_facts(page).canonical_url
    if canonical is not None and canonical != _page_address(page):
        return {"canonical": canonical}
    return None


@page_check("sitemap_blocked_by_robots")
def sitemap_blocked_by_robots(page: CrawledPage) -> Details | None:
    return {} if page.in_sitemap and page.blocked_by_robots else None


# --- Canonicals ------------------------------------------------------------------------


@page_check("canonical_missing")
def canonical_missing(page: CrawledPage) -> Details | None:
    if is_content_page(page) and not page.canonicals and not page.canonical_header:
        return {}
    return None


@page_check("canonical_multiple")
def canonical_multiple(page: CrawledPage) -> Details | None:
    distinct = sorted(set(resolved_canonicals(page)))
    return {"canonicals": distinct[:MAX_EXAMPLES]} if len(distinct) > 1 else None


@page_check("canonical_header_mismatch")
def canonical_header_mismatch(page: CrawledPage) -> Details | None:
    if not page.canonical_header:
        return None
    html = resolved_canonicals(page)
    header = normalize_url(page.canonical_header, base=_page_address(page))
    if html and header is not None and html[0] != header:
        return {"html": html[0], "header": header}
    return None


@page_check("canonical_relative")
def canonical_relative(page: CrawledPage) -> Details | None:
    # Protocol-relative (`//host/path`) canonicals are absolute: only the scheme is implied.
    relative = [
        href
        for href in page.canonicals
        if not href.strip().lower().startswith(("http:", "https:", "//"))
    ]
    return {"canonicals": relative[:MAX_EXAMPLES]} if relative else None


@page_check("canonical_invalid")
def canonical_invalid(page: CrawledPage) -> Details | None:
    base = _page_address(page)
    invalid = [href for href in page.canonicals if normalize_url(href, base=base) is None]
    return {"canonicals": invalid[:MAX_EXAMPLES]} if invalid else None


# --- Site structure --------------------------------------------------------------------


@page_check("deep_page")
def deep_page(page: CrawledPage) -> Details | None:
    return {"depth": page.depth} if page.depth > c.MAX_DEPTH else None


@page_check("dead_end")
def dead_end(page: CrawledPage) -> Details | None:
    if is_content_page(page) and not any(link.internal for link in page.links):
        return {"links": len(page.links)}
    return None


@page_check("too_many_links")
def too_many_links(page: CrawledPage) -> Details | None:
    return {"links": len(page.links)} if len(page.links) > c.MAX_LINKS else None


@page_check("internal_nofollow")
def internal_nofollow(page: CrawledPage) -> Details | None:
    targets = sorted({link.url for link in page.links if link.internal and link.nofollow})
    return {"count": len(targets), "targets": targets[:MAX_EXAMPLES]} if targets else None


# --- Hreflang --------------------------------------------------------------------------


@page_check("hreflang_invalid_code")
def hreflang_invalid_code(page: CrawledPage) -> Details | None:
    invalid = sorted({entry.lang for entry in page.hreflang if not valid_hreflang(entry.lang)})
    return {"codes": invalid[:MAX_EXAMPLES]} if invalid else None


@page_check("hreflang_no_self_reference")
def hreflang_no_self_reference(page: CrawledPage) -> Details | None:
    if not page.hreflang:
        return None
    own = {page.url, _page_address(page)}
    base = _page_address(page)
    if any(normalize_url(entry.url, base=base) in own for entry in page.hreflang):
        return None
    return {"alternates": len(page.hreflang)}


@page_check("hreflang_no_x_default")
def hreflang_no_x_default(page: CrawledPage) -> Details | None:
    if page.hreflang and not any(entry.lang.lower() == "x-default" for entry in page.hreflang):
        return {}
    return None


# --- URL hygiene -----------------------------------------------------------------------


def _path(page: CrawledPage) -> str:
    return urlsplit(page.url).path


@page_check("url_underscores")
def url_underscores(page: CrawledPage) -> Details | None:
    return {} if "_" in _path(page) else None


@page_check("url_uppercase")
def url_uppercase(page: CrawledPage) -> Details | None:
    # Escapes such as %2F are upper-case by normalization; only letters written by people count.
    path = re.sub(r"%[0-9A-Fa-f]{2}", "", _path(page))
    return {} if any(ch.isupper() for ch in path) else None


@page_check("url_spaces")
def url_spaces(page: CrawledPage) -> Details | None:
    return {} if " " in page.url or "%20" in page.url else None


@page_check("url_double_slash")
def url_double_slash(page: CrawledPage) -> Details | None:
    return {} if "//" in _path(page) else None


@page_check("url_too_long")
def url_too_long(page: CrawledPage) -> Details | None:
    return {"length": len(page.url)} if len(page.url) > c.URL_MAX_CHARS else None


# --- Images ----------------------------------------------------------------------------


@page_check("image_missing_alt")
def image_missing_alt(page: CrawledPage) -> Details | None:
    missing = [image.src for image in page.images if image.alt is None]
    return {"count": len(missing), "images": missing[:MAX_EXAMPLES]} if missing else None


# --- Security --------------------------------------------------------------------------


def _is_https(page: CrawledPage) -> bool:
    return _page_address(page).startswith("https://")


@page_check("http_page")
def http_page(page: CrawledPage) -> Details | None:
    return {} if is_ok_html(page) and not _is_https(page) else None


@page_check("mixed_content")
def mixed_content(page: CrawledPage) -> Details | None:
    if _is_https(page) and page.insecure_resources:
        resources = page.insecure_resources
        return {"count": len(resources), "resources": resources[:MAX_EXAMPLES]}
    return None


@page_check("insecure_form")
def insecure_form(page: CrawledPage) -> Details | None:
    actions = page.insecure_form_actions
    return {"actions": actions[:MAX_EXAMPLES]} if actions else None


@page_check("internal_link_to_http")
def internal_link_to_http(page: CrawledPage) -> Details | None:
    if not _is_https(page):
        return None
    targets = sorted(
        {link.url for link in page.links if link.internal and link.url.startswith("http://")}
    )
    return {"count": len(targets), "targets": targets[:MAX_EXAMPLES]} if targets else None


# --- Rendering -------------------------------------------------------------------------


@page_check("rendered_only_content")
def rendered_only_content(page: CrawledPage) -> Details | None:
    view = page.rendered
    if view is None or view.error or is_refresh_stub(page):
        return None
    if view.links_only_rendered or view.words_only_rendered >= c.RENDERED_ONLY_WORDS:
        return {
            "links_only_rendered": len(view.links_only_rendered),
            "links": view.links_only_rendered[:MAX_EXAMPLES],
            "words_only_rendered": view.words_only_rendered,
        }
    return None


@page_check("rendered_title_changed")
def rendered_title_changed(page: CrawledPage) -> Details | None:
    view = page.rendered
    if view is None or view.error or view.title is None or is_refresh_stub(page):
        return None
    raw = _first_nonblank(page.titles)
    if (raw or "") != view.title.strip():
        return {"html": raw, "rendered": view.title.strip()}
    return None


@page_check("render_failed")
def render_failed(page: CrawledPage) -> Details | None:
    view = page.rendered
    return {"error": view.error} if view is not None and view.error else None


def _rendered(page: CrawledPage) -> Any:
    """The rendered view when rendering worked on a content page, else None."""
    view = page.rendered
    if view is None or view.error or not is_content_page(page):
        return None
    return view


@page_check("rendered_noindex_changed")
def rendered_noindex_changed(page: CrawledPage) -> Details | None:
    view = _rendered(page)
    if view is None or view.meta_robots is None:
        return None
    raw = directives(page).noindex
    rendered = evaluate(view.meta_robots, page.x_robots_tag, agent=settings.AUDIT_ROBOTS_AGENT)
    if raw != rendered.noindex:
        return {"raw_noindex": raw, "rendered_noindex": rendered.noindex}
    return None


@page_check("rendered_canonical_changed")
def rendered_canonical_changed(page: CrawledPage) -> Details | None:
    view = _rendered(page)
    if view is None or view.meta_robots is None:  # an older view without head facts
        return None
    raw = resolved_canonicals(page)
    rendered = normalize_url(view.canonical, base=_page_address(page)) if view.canonical else None
    if (raw[0] if raw else None) != rendered:
        return {"html": raw[0] if raw else None, "rendered": rendered}
    return None


@page_check("rendered_description_changed")
def rendered_description_changed(page: CrawledPage) -> Details | None:
    view = _rendered(page)
    if view is None or view.meta_robots is None:
        return None
    raw = _first_nonblank(page.meta_descriptions)
    rendered = (view.description or "").strip() or None
    return {"html": raw, "rendered": rendered} if raw != rendered else None


@page_check("rendered_h1_changed")
def rendered_h1_changed(page: CrawledPage) -> Details | None:
    view = _rendered(page)
    if view is None:
        return None
    raw = _first_nonblank(page.h1)
    rendered = _first_nonblank(view.h1)
    return {"html": raw, "rendered": rendered} if raw != rendered else None


@page_check("render_console_errors")
def render_console_errors(page: CrawledPage) -> Details | None:
    view = _rendered(page)
    if view is None or not view.console_errors:
        return None
    return {"count": len(view.console_errors), "errors": view.console_errors[:MAX_EXAMPLES]}


@page_check("render_failed_resources")
def render_failed_resources(page: CrawledPage) -> Details | None:
    view = _rendered(page)
    if view is None or not view.failed_requests:
        return None
    return {"count": len(view.failed_requests), "resources": view.failed_requests[:MAX_EXAMPLES]}


# --- Robots directives -----------------------------------------------------------------


@page_check("blocked_for_search_engine")
def blocked_for_search_engine(page: CrawledPage) -> Details | None:
    if page.blocked_for_agent and not page.blocked_by_robots:
        return {"agent": settings.AUDIT_ROBOTS_AGENT}
    return None


@page_check("nosnippet")
def nosnippet(page: CrawledPage) -> Details | None:
    return {} if is_ok_html(page) and "nosnippet" in directives(page).names else None


@page_check("noimageindex")
def noimageindex(page: CrawledPage) -> Details | None:
    return {} if is_ok_html(page) and "noimageindex" in directives(page).names else None


def _stated(found: Directives, yes: str, no: str) -> bool | None:
    """True/False when the directives say `no`/`yes` (or none/all), None when silent."""
    if found.names & {no, "none"}:
        return True
    if found.names & {yes, "all"}:
        return False
    return None


@page_check("robots_directives_conflict")
def robots_directives_conflict(page: CrawledPage) -> Details | None:
    if not page.meta_robots or not page.x_robots_tag or not is_ok_html(page):
        return None
    agent = settings.AUDIT_ROBOTS_AGENT
    meta = evaluate(page.meta_robots, [], agent=agent)
    header = evaluate([], page.x_robots_tag, agent=agent)
    for yes, no in (("index", "noindex"), ("follow", "nofollow")):
        said_meta, said_header = _stated(meta, yes, no), _stated(header, yes, no)
        if said_meta is not None and said_header is not None and said_meta != said_header:
            return {"meta_robots": page.meta_robots, "x_robots_tag": page.x_robots_tag}
    return None


# --- HTML structure --------------------------------------------------------------------


@page_check("head_element_in_body")
def head_element_in_body(page: CrawledPage) -> Details | None:
    found = [name for name in page.in_body if name != "link canonical"]
    return {"elements": found} if found and is_ok_html(page) else None


@page_check("canonical_outside_head")
def canonical_outside_head(page: CrawledPage) -> Details | None:
    return {} if "link canonical" in page.in_body and is_ok_html(page) else None


@page_check("multiple_head")
def multiple_head(page: CrawledPage) -> Details | None:
    return {"count": page.head_count} if page.head_count > 1 and is_ok_html(page) else None


@page_check("multiple_body")
def multiple_body(page: CrawledPage) -> Details | None:
    return {"count": page.body_count} if page.body_count > 1 and is_ok_html(page) else None


@page_check("lang_invalid")
def lang_invalid(page: CrawledPage) -> Details | None:
    lang = (page.lang or "").strip()
    return {"lang": lang} if lang and is_ok_html(page) and not valid_lang(lang) else None


@page_check("duplicate_ids")
def duplicate_ids(page: CrawledPage) -> Details | None:
    ids = page.duplicate_ids
    return {"count": len(ids), "ids": ids[:MAX_EXAMPLES]} if ids and is_ok_html(page) else None


@page_check("canonical_fragment")
def canonical_fragment(page: CrawledPage) -> Details | None:
    with_fragment = [href for href in page.canonicals if "#" in href and href.split("#", 1)[1]]
    return {"canonicals": with_fragment[:MAX_EXAMPLES]} if with_fragment else None


# --- Hreflang (one page) ---------------------------------------------------------------


def _own_hreflang(page: CrawledPage) -> list[str]:
    own = {page.url, _page_address(page)}
    base = _page_address(page)
    return [
        entry.lang
        for entry in page.hreflang
        if entry.lang.lower() != "x-default" and normalize_url(entry.url, base=base) in own
    ]


@page_check("hreflang_lang_mismatch")
def hreflang_lang_mismatch(page: CrawledPage) -> Details | None:
    lang = (page.lang or "").strip()
    own = [code for code in _own_hreflang(page) if valid_hreflang(code)]
    if not lang or not own or not valid_lang(lang):
        return None
    if all(language_of(code) != language_of(lang) for code in own):
        return {"html_lang": lang, "hreflang": own[:MAX_EXAMPLES]}
    return None


@page_check("hreflang_duplicate_lang")
def hreflang_duplicate_lang(page: CrawledPage) -> Details | None:
    base = _page_address(page)
    urls: dict[str, set[str]] = {}
    for entry in page.hreflang:
        target = normalize_url(entry.url, base=base) or entry.url
        urls.setdefault(entry.lang.strip().lower(), set()).add(target)
    doubled = sorted(code for code, targets in urls.items() if len(targets) > 1)
    return {"codes": doubled[:MAX_EXAMPLES]} if doubled else None


# --- Links -----------------------------------------------------------------------------


def is_private_host(host: str) -> bool:
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(_PRIVATE_HOST_SUFFIXES):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_private or address.is_loopback or address.is_link_local


@page_check("link_to_private_address")
def link_to_private_address(page: CrawledPage) -> Details | None:
    if is_private_host(urlsplit(_page_address(page)).hostname or ""):
        return None  # a site on a private network links within it
    targets = sorted(
        {link.url for link in page.links if is_private_host(urlsplit(link.url).hostname or "")}
    )
    return {"count": len(targets), "targets": targets[:MAX_EXAMPLES]} if targets else None


@page_check("anchor_text_empty")
def anchor_text_empty(page: CrawledPage) -> Details | None:
    targets = sorted({link.url for link in page.links if link.internal and not link.anchor_text})
    if targets and is_content_page(page):
        return {"count": len(targets), "targets": targets[:MAX_EXAMPLES]}
    return None


@page_check("anchor_text_generic")
def anchor_text_generic(page: CrawledPage) -> Details | None:
    found = sorted(
        {
            link.anchor_text
            for link in page.links
            if " ".join(link.anchor_text.lower().strip(" .!?:»>→…").split()) in _GENERIC_ANCHORS
        }
    )
    return {"anchors": found[:MAX_EXAMPLES]} if found and is_content_page(page) else None


@page_check("unsafe_target_blank")
def unsafe_target_blank(page: CrawledPage) -> Details | None:
    links = page.unsafe_blank_links
    return {"count": len(links), "targets": links[:MAX_EXAMPLES]} if links else None


# --- Security headers ------------------------------------------------------------------


def _missing_header(page: CrawledPage, header: str) -> Details | None:
    return {} if is_ok_html(page) and header in page.missing_security_headers else None


@page_check("hsts_missing")
def hsts_missing(page: CrawledPage) -> Details | None:
    return _missing_header(page, "strict-transport-security") if _is_https(page) else None


@page_check("content_type_options_missing")
def content_type_options_missing(page: CrawledPage) -> Details | None:
    return _missing_header(page, "x-content-type-options")


@page_check("frame_protection_missing")
def frame_protection_missing(page: CrawledPage) -> Details | None:
    return _missing_header(page, "frame-protection")


# --- Content, sitemaps, structured data, images ----------------------------------------


@page_check("soft_404")
def soft_404(page: CrawledPage) -> Details | None:
    if not is_content_page(page):
        return None
    for text in (_first_nonblank(page.titles), _first_nonblank(page.h1)):
        if text and _NOT_FOUND.search(text):
            return {"text": text}
    return None


@page_check("sitemap_multiple")
def sitemap_multiple(page: CrawledPage) -> Details | None:
    return {"sitemaps": page.sitemap_count} if page.sitemap_count > 1 else None


@page_check("structured_data_invalid")
def structured_data_invalid(page: CrawledPage) -> Details | None:
    errors = page.structured_data_errors
    return {"errors": errors[:MAX_EXAMPLES]} if errors and is_ok_html(page) else None


@page_check("structured_data_missing_property")
def structured_data_missing_property(page: CrawledPage) -> Details | None:
    missing = page.structured_data_missing
    return {"missing": missing[:MAX_EXAMPLES]} if missing and is_ok_html(page) else None


@page_check("image_missing_dimensions")
def image_missing_dimensions(page: CrawledPage) -> Details | None:
    unsized = sorted({image.src for image in page.images if not image.sized})
    return {"count": len(unsized), "images": unsized[:MAX_EXAMPLES]} if unsized else None


@page_check("image_alt_too_long")
def image_alt_too_long(page: CrawledPage) -> Details | None:
    long = sorted(
        {image.src for image in page.images if len(image.alt or "") > c.IMAGE_ALT_MAX_CHARS}
    )
    return {"count": len(long), "images": long[:MAX_EXAMPLES]} if long else None
