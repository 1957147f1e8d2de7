"""Every single-page check fires on a page with its defect and stays quiet on a good page."""

from collections.abc import Callable
from typing import Any

import pytest

from app.audits.checks.catalogue import CATALOGUE, MAX_LINKS, checks_in_scope
from app.audits.checks.page_checks import PAGE_CHECKS, page_facts, run_page_checks
from app.audits.checks.site_checks import SITE_CHECKS
from app.audits.page import (
    CrawledPage,
    FetchError,
    Hreflang,
    Image,
    Link,
    RedirectHop,
    RenderedView,
)
from tests.audits.pages import SITE, good_page

URL = f"{SITE}/good-page"


def _link(path: str, *, nofollow: bool = False, internal: bool = True) -> Link:
    return Link(url=f"{SITE}{path}", anchor_text=path, nofollow=nofollow, internal=internal)


def _view(**changes: Any) -> RenderedView:
    fields: dict[str, Any] = {
        "title": good_page().titles[0],
        "h1": ["The page's main topic"],
        "links": [],
        "word_count": 640,
    }
    return RenderedView(**{**fields, **changes})


_DESC = good_page().meta_descriptions[0]
_HREFLANG_OK = [
    Hreflang(lang="en", url=URL),
    Hreflang(lang="de", url=f"{SITE}/de/good-page"),
    Hreflang(lang="x-default", url=URL),
]

# code -> the changes that give a good page that defect.
BAD: dict[str, dict[str, Any]] = {
    "http_4xx": {"status_code": 404},
    "http_5xx": {"status_code": 503},
    "fetch_failed": {"status_code": None, "error": FetchError.CONNECTION, "is_html": False},
    "fetch_timeout": {"status_code": None, "error": FetchError.TIMEOUT, "is_html": False},
    "body_too_large": {"error": FetchError.TOO_LARGE, "size_bytes": 6_000_000},
    "redirect_chain": {
        "url": f"{SITE}/old",
        "redirect_chain": [RedirectHop(f"{SITE}/old", 301), RedirectHop(f"{SITE}/older", 301)],
    },
    "redirect_loop": {
        "status_code": None,
        "error": FetchError.REDIRECT_LOOP,
        "redirect_chain": [RedirectHop(f"{SITE}/a", 301), RedirectHop(f"{SITE}/b", 301)],
    },
    "redirect_to_error": {
        "url": f"{SITE}/moved",
        "status_code": 301,
        "final_status_code": 404,
        "redirect_chain": [RedirectHop(f"{SITE}/moved", 301)],
    },
    "redirect_temporary": {
        "url": f"{SITE}/tmp",
        "redirect_chain": [RedirectHop(f"{SITE}/tmp", 302)],
    },
    "meta_refresh": {"meta_refresh": f"{SITE}/elsewhere"},
    "title_missing": {"titles": []},
    "title_empty": {"titles": ["   "]},
    "title_multiple": {"titles": ["A descriptive page title, the first one", "And a second"]},
    "title_too_long": {"titles": ["A title that goes on and on " * 4]},
    "title_too_short": {"titles": ["Home"]},
    "meta_description_missing": {"meta_descriptions": []},
    "meta_description_multiple": {
        "meta_descriptions": [good_page().meta_descriptions[0], "Another description " * 5]
    },
    "meta_description_too_long": {"meta_descriptions": ["A long description. " * 12]},
    "meta_description_too_short": {"meta_descriptions": ["Too short."]},
    "h1_missing": {"h1": [], "heading_levels": [2, 2]},
    "h1_multiple": {"h1": ["One", "Two"], "heading_levels": [1, 1, 2]},
    "heading_order": {"heading_levels": [1, 2, 4]},
    "thin_content": {"word_count": 35},
    "lang_missing": {"lang": None},
    "viewport_missing": {"viewport": None},
    "html_too_large": {"size_bytes": 3 * 1024 * 1024},
    "slow_response": {"response_time_ms": 2_400.0},
    "structured_data_missing": {"structured_data_types": []},
    "noindex": {"meta_robots": ["noindex, follow"]},
    "nofollow_page": {"x_robots_tag": ["nofollow"]},
    "sitemap_noindex": {"in_sitemap": True, "meta_robots": ["googlebot: noindex"]},
    "sitemap_non_200": {"in_sitemap": True, "status_code": 410},
    "sitemap_non_canonical": {"in_sitemap": True, "canonicals": [f"{SITE}/the-original"]},
    "sitemap_blocked_by_robots": {
        "in_sitemap": True,
        "blocked_by_robots": True,
        "status_code": None,
        "is_html": False,
    },
    "canonical_missing": {"canonicals": []},
    "canonical_multiple": {"canonicals": [URL, f"{SITE}/another"]},
    "canonical_header_mismatch": {"canonical_header": f"{SITE}/from-header"},
    "canonical_relative": {"canonicals": ["/good-page"]},
    "canonical_invalid": {"canonicals": ["javascript:void(0)"]},
    "deep_page": {"depth": 7},
    "dead_end": {"links": [_link("", internal=False)]},
    "too_many_links": {"links": [_link(f"/p{i}") for i in range(MAX_LINKS + 1)]},
    "internal_nofollow": {"links": [_link("/"), _link("/private", nofollow=True)]},
    "hreflang_invalid_code": {
        "hreflang": [*_HREFLANG_OK, Hreflang("en-UK", f"{SITE}/uk"), Hreflang("xx", f"{SITE}/x")]
    },
    "hreflang_no_self_reference": {
        "hreflang": [*_HREFLANG_OK[1:2], Hreflang("x-default", f"{SITE}/")]
    },
    "hreflang_no_x_default": {"hreflang": _HREFLANG_OK[:2]},
    "url_underscores": {"url": f"{SITE}/my_page", "final_url": f"{SITE}/my_page"},
    "url_uppercase": {"url": f"{SITE}/My-Page", "final_url": f"{SITE}/My-Page"},
    "url_spaces": {"url": f"{SITE}/my%20page", "final_url": f"{SITE}/my%20page"},
    "url_double_slash": {"url": f"{SITE}/blog//post", "final_url": f"{SITE}/blog//post"},
    "url_too_long": {
        "url": f"{SITE}/" + "segment-" * 20,
        "final_url": f"{SITE}/" + "segment-" * 20,
    },
    "image_missing_alt": {"images": [Image(src=f"{SITE}/photo.jpg", alt=None)]},
    "http_page": {
        "url": "http://example.com/good-page",
        "final_url": "http://example.com/good-page",
        "canonicals": ["http://example.com/good-page"],
    },
    "mixed_content": {"insecure_resources": ["http://cdn.example.com/app.js"]},
    "insecure_form": {"insecure_form_actions": ["http://example.com/subscribe"]},
    "internal_link_to_http": {
        "links": [_link("/"), Link("http://example.com/old", "old", False, True)]
    },
    "rendered_only_content": {
        "rendered": _view(
            links=[_link("/js-only")],
            links_only_rendered=[f"{SITE}/js-only"],
            words_only_rendered=180,
        )
    },
    "rendered_title_changed": {"rendered": _view(title="A title set by a script")},
    "render_failed": {"rendered": _view(error="Timeout 30000ms exceeded")},
    # Rendering vs raw HTML
    "rendered_noindex_changed": {"rendered": _view(meta_robots=["noindex"], canonical=URL)},
    "rendered_canonical_changed": {
        "rendered": _view(meta_robots=[], canonical=f"{SITE}/elsewhere", description=_DESC)
    },
    "rendered_description_changed": {
        "rendered": _view(meta_robots=[], canonical=URL, description="Set by a script.")
    },
    "rendered_h1_changed": {"rendered": _view(h1=["A heading set by a script"])},
    "render_console_errors": {"rendered": _view(console_errors=["TypeError: x is undefined"])},
    "render_failed_resources": {"rendered": _view(failed_requests=[f"{SITE}/app.js (HTTP 404)"])},
    # Robots directives
    "blocked_for_search_engine": {"blocked_for_agent": True},
    "nosnippet": {"meta_robots": ["nosnippet"]},
    "noimageindex": {"x_robots_tag": ["googlebot: noimageindex"]},
    "robots_directives_conflict": {"meta_robots": ["index, follow"], "x_robots_tag": ["noindex"]},
    # HTML
    "head_element_in_body": {"in_body": ["meta description"]},
    "canonical_outside_head": {"in_body": ["link canonical"]},
    "multiple_head": {"head_count": 2},
    "multiple_body": {"body_count": 2},
    "lang_invalid": {"lang": "en_UK"},
    "duplicate_ids": {"duplicate_ids": ["main"]},
    "canonical_fragment": {"canonicals": [f"{URL}#top"]},
    # Hreflang on the page itself
    "hreflang_lang_mismatch": {"lang": "fr", "hreflang": _HREFLANG_OK},
    "hreflang_duplicate_lang": {"hreflang": [*_HREFLANG_OK, Hreflang("de", f"{SITE}/de/other")]},
    # Links
    "link_to_private_address": {
        "links": [_link("/"), Link("http://192.168.1.20/admin", "admin", False, False)]
    },
    "anchor_text_empty": {"links": [_link("/"), Link(f"{SITE}/x", "", False, True)]},
    "anchor_text_generic": {"links": [_link("/"), Link(f"{SITE}/x", "Click here", False, True)]},
    "unsafe_target_blank": {"unsafe_blank_links": ["https://other.example.org/"]},
    # Security headers
    "hsts_missing": {"missing_security_headers": ["strict-transport-security"]},
    "content_type_options_missing": {"missing_security_headers": ["x-content-type-options"]},
    "frame_protection_missing": {"missing_security_headers": ["frame-protection"]},
    # Content, sitemaps, structured data, images
    "soft_404": {"titles": ["Page not found - Example"]},
    "sitemap_multiple": {"in_sitemap": True, "sitemap_count": 2},
    "structured_data_invalid": {"structured_data_errors": ["line 12: Expecting ',' delimiter"]},
    "structured_data_missing_property": {"structured_data_missing": ["Product: name"]},
    "image_missing_dimensions": {"images": [Image(f"{SITE}/photo.jpg", "A photo", sized=False)]},
    "image_alt_too_long": {"images": [Image(f"{SITE}/photo.jpg", "A photo of a cat. " * 8)]},
}

# Good variants close to the defect: the check must not fire on these either.
GOOD: dict[str, list[dict[str, Any]]] = {
    "title_too_short": [
        {"titles": ["Exactly thirty characters long"]},
        {"titles": ["東京の天気予報と週間の気温"]},
    ],
    # 60 characters of ordinary words fit in the 561 px a result shows.
    "title_too_long": [{"titles": ["Choosing a hiking backpack: sizes, fit and the best models"]}],
    "image_missing_alt": [{"images": [Image(src=f"{SITE}/spacer.gif", alt="")]}],
    "canonical_header_mismatch": [{"canonical_header": "/good-page"}],
    "redirect_chain": [{"url": f"{SITE}/old", "redirect_chain": [RedirectHop(f"{SITE}/old", 301)]}],
    "heading_order": [{"heading_levels": [1, 2, 3, 2, 3, 4, 2]}],
    "noindex": [
        {"meta_robots": ["index, follow"]},
        {"meta_robots": ["max-snippet:50"]},
        # Directives for another crawler are not the search engine's.
        {"x_robots_tag": ["bingbot: noindex"]},
        {"meta_robots": ["bingbot: noindex"]},
        {"meta_robots": ["unavailable_after: 2999-01-01T00:00:00+00:00"]},
    ],
    "nofollow_page": [{"x_robots_tag": ["bingbot: noindex, nofollow"]}],
    "robots_directives_conflict": [
        {"meta_robots": ["noindex"], "x_robots_tag": ["noindex, noarchive"]},
        {"meta_robots": ["noindex"], "x_robots_tag": ["noarchive"]},
    ],
    "canonical_relative": [
        {"canonicals": ["https://example.com/good-page"]},
        {"canonicals": ["//example.com/good-page"]},
    ],
    "hreflang_lang_mismatch": [{"lang": "en-GB", "hreflang": _HREFLANG_OK}],
    "lang_invalid": [{"lang": "pt-BR"}, {"lang": "es-419"}, {"lang": "zh-Hant-TW"}],
    "link_to_private_address": [
        {
            "url": "http://127.0.0.1:8000/good-page",
            "final_url": "http://127.0.0.1:8000/good-page",
            "links": [Link("http://127.0.0.1:8000/", "Home", False, True)],
        }
    ],
    "anchor_text_generic": [{"links": [Link(f"{SITE}/x", "Read more about tents", False, True)]}],
    "soft_404": [{"titles": ["Lost and found: a novel"]}],
    "image_missing_dimensions": [{"images": [Image(f"{SITE}/a.png", "A", sized=True)]}],
    "hsts_missing": [
        {
            "url": "http://example.com/good-page",
            "final_url": "http://example.com/good-page",
            "missing_security_headers": ["strict-transport-security"],
        }
    ],
    "rendered_canonical_changed": [
        {"rendered": _view(meta_robots=[], canonical=URL, description=_DESC)},
        {"rendered": _view(canonical=None)},  # a view stored before head facts were read
    ],
    "hreflang_invalid_code": [
        {"hreflang": [Hreflang("en-GB", URL), Hreflang("zh-Hant-TW", URL)]},
        {"hreflang": [Hreflang("x-default", URL), Hreflang("pt-br", URL)]},
    ],
    "url_uppercase": [{"url": f"{SITE}/caf%C3%A9", "final_url": f"{SITE}/caf%C3%A9"}],
    "rendered_only_content": [{"rendered": _view(words_only_rendered=10)}],
    "dead_end": [{"links": [_link("/next")]}],
}

PAGE_CODES = sorted(PAGE_CHECKS)


def test_catalogue_is_complete_and_implemented() -> None:
    assert len(CATALOGUE) > 110
    assert {c.code for c in checks_in_scope("page")} == set(PAGE_CHECKS)
    assert {c.code for c in checks_in_scope("site")} == set(SITE_CHECKS)
    for check in CATALOGUE.values():
        assert all((check.title, check.description, check.how_to_fix)), check.code
    assert set(BAD) == set(PAGE_CHECKS), "every page check needs a bad page in BAD"


def test_the_good_page_has_no_issue_at_all() -> None:
    assert run_page_checks(good_page()) == []
    assert page_facts(good_page()).indexable


@pytest.mark.parametrize("code", PAGE_CODES)
def test_check_fires_on_the_bad_page(code: str) -> None:
    bad = good_page(**BAD[code])
    found = dict(run_page_checks(bad))
    assert code in found, f"{code} did not fire on {BAD[code]}"
    assert isinstance(found[code], dict)


@pytest.mark.parametrize("code", PAGE_CODES)
def test_check_stays_quiet_on_good_pages(code: str) -> None:
    check: Callable[[CrawledPage], object] = PAGE_CHECKS[code]
    assert check(good_page()) is None
    for changes in GOOD.get(code, []):
        assert check(good_page(**changes)) is None, (code, changes)


def test_page_facts() -> None:
    relative = page_facts(good_page(canonicals=["/good-page?utm_source=x"]))
    assert relative.canonical_url == URL
    assert relative.indexable
    pointing_away = page_facts(good_page(canonicals=[f"{SITE}/other"]))
    assert pointing_away.canonical_url == f"{SITE}/other"
    assert not pointing_away.indexable
    assert not page_facts(good_page(meta_robots=["none"])).indexable
    assert page_facts(good_page(meta_robots=["none"])).nofollow
    assert page_facts(good_page()).internal_link_count == 2


def test_meta_refresh_stubs_are_judged_as_redirects() -> None:
    """A stub that refreshes to another page has no content to judge, and is not indexable
    (so its borrowed title is no duplicate)."""
    stub = good_page(
        meta_refresh=f"{SITE}/target",
        word_count=3,
        viewport=None,
        rendered=_view(links_only_rendered=[f"{SITE}/x"], words_only_rendered=500),
    )
    found = dict(run_page_checks(stub))
    assert "meta_refresh" in found
    assert not {"thin_content", "viewport_missing", "rendered_only_content"} & set(found)
    assert not page_facts(stub).indexable
    # A refresh to the page itself (a reload) leaves it a content page.
    reload = good_page(meta_refresh=URL, word_count=3)
    assert "thin_content" in dict(run_page_checks(reload))


def test_robots_directives_for_the_search_engine() -> None:
    assert page_facts(good_page(meta_robots=["googlebot: noindex"])).noindex
    assert not page_facts(good_page(x_robots_tag=["bingbot: noindex"])).noindex
    assert page_facts(good_page(x_robots_tag=["googlebot: none"])).nofollow
    expired = good_page(x_robots_tag=["unavailable_after: Friday, 25-Jun-2010 15:00:00 GMT"])
    assert page_facts(expired).noindex


def test_title_and_description_are_measured_in_pixels() -> None:
    wide = dict(run_page_checks(good_page(titles=["WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW"])))
    assert wide["title_too_long"]["length"] == 36
    assert wide["title_too_long"]["pixels"] > 561
    narrow = good_page(titles=["illicit little lilies in a little field, still"])
    assert "title_too_long" not in dict(run_page_checks(narrow))
