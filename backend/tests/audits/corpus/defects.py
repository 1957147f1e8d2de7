# ruff: noqa: E501 - the pages are a table, one line each.
"""A site with one known defect per page (served over HTTPS with security headers, so
each page shows its own defect and nothing else), linked from the home page, its indexable
pages listed in the sitemap."""

from tests.audits.corpus.common import (
    HSTS,
    PNG,
    SECURITY_HEADERS,
    Elsewhere,
    Page,
    image,
    sitemap,
)
from tests.fakes.site_server import Route, redirect

HOME_NAV = [("/", "Home")]


def _page(path: str, topic: str, **changes: object) -> Page:
    fields: dict[str, object] = {
        "path": path,
        "title": f"{topic} | The defect corpus",
        "description": f"This page of the defect corpus shows one defect, {topic.lower()}, "
        "and is otherwise built the way a careful site would build it.",
        "h1": topic,
        "nav": HOME_NAV,
    }
    fields.update(changes)
    return Page(**fields)  # type: ignore[arg-type]


def _pages(base: str, elsewhere: Elsewhere) -> list[Page]:
    away = elsewhere.site
    broken_json = '<script type=\'application/ld+json\'>{"@type": "Thing",\n "name": }</script>'
    many = "".join(f"<a href='/'>Link number {i} back home</a>" for i in range(301))
    return [
        _page("/no-title", "Missing title", title_tag=""),
        _page("/empty-title", "Empty title", title_tag="<title>  </title>"),
        _page("/two-titles", "Two titles", title_tag="<title>Two titles: the first of them here</title><title>The second</title>"),
        _page("/long-title", "Long title", title="A title that goes on and on about everything the page could possibly cover in detail"),
        _page("/short-title", "Short title", title="Hi"),
        _page("/no-description", "Missing description", description=""),
        _page("/two-descriptions", "Two descriptions",
              head="<meta name='description' content='And a second description for the same page.'>"),
        _page("/long-description", "Long description", description="A description " * 20),
        _page("/short-description", "Short description", description="Too short."),
        _page("/no-h1", "", title="A page without a main heading at all, in the corpus"),
        _page("/two-h1", "Two h1", body="<h1>A second main heading</h1>"),
        _page("/skip-heading", "Skipped heading level", body="<h4>Straight to h4</h4>"),
        _page("/thin", "Thin content", words=40),
        _page("/no-lang", "Missing language", lang=""),
        _page("/bad-lang", "Invalid language", lang="en_UK"),
        _page("/no-viewport", "Missing viewport", viewport=False),
        _page("/noindex", "Noindex", head="<meta name='robots' content='noindex'>", in_sitemap=False),
        _page("/googlebot-noindex", "Noindex for Googlebot",
              head="<meta name='googlebot' content='noindex'>", in_sitemap=False),
        _page("/bingbot-noindex", "Noindex for Bingbot only",
              headers={"X-Robots-Tag": "bingbot: noindex"}),
        _page("/nofollow", "Nofollow", head="<meta name='robots' content='nofollow'>"),
        _page("/nosnippet", "Nosnippet", head="<meta name='robots' content='nosnippet'>"),
        _page("/robots-conflict", "Conflicting robots directives",
              head="<meta name='robots' content='index, follow'>",
              headers={"X-Robots-Tag": "noindex"}, in_sitemap=False),
        _page("/no-canonical", "Missing canonical", canonical=False),
        _page("/two-canonicals", "Two canonicals", head=f"<link rel='canonical' href='{base}/other'>"),
        _page("/relative-canonical", "Relative canonical", canonical=False,
              head="<link rel='canonical' href='/relative-canonical'>"),
        _page("/canonical-fragment", "Canonical with a fragment", canonical=False,
              head=f"<link rel='canonical' href='{base}/canonical-fragment#top'>"),
        _page("/canonical-in-body", "Canonical in the body", canonical=False,
              body=f"<link rel='canonical' href='{base}/canonical-in-body'>"),
        _page("/description-in-body", "Description in the body",
              body="<meta name='description' content='Misplaced.'>"),
        _page("/canon-to-404", "Canonical to a missing page", canonical=False,
              head=f"<link rel='canonical' href='{base}/missing-page'>", in_sitemap=False),
        _page("/canon-to-redirect", "Canonical to a redirect", canonical=False,
              head=f"<link rel='canonical' href='{base}/old'>", in_sitemap=False),
        _page("/canon-to-noindex", "Canonical to a noindex page", canonical=False,
              head=f"<link rel='canonical' href='{base}/noindex'>", in_sitemap=False),
        _page("/canon-chain-a", "Canonical chain", canonical=False,
              head=f"<link rel='canonical' href='{base}/canon-chain-b'>", in_sitemap=False),
        _page("/canon-chain-b", "Canonical chain, second link", canonical=False,
              head=f"<link rel='canonical' href='{base}/'>", in_sitemap=False),
        _page("/broken-json-ld", "Invalid JSON-LD", json_ld=None, head=broken_json),
        _page("/product", "Product without offers",
              json_ld={"@context": "https://schema.org", "@type": "Product", "name": "Tent"}),
        _page("/image-no-alt", "Image without alt",
              body="<img src='/img/a.png' width='10' height='10'>"),
        _page("/image-unsized", "Image without dimensions",
              body="<img src='/img/a.png' alt='A small square'>"),
        _page("/image-long-alt", "Image with a long alt",
              body="<img src='/img/a.png' width='10' height='10' alt='" + "Long alt text. " * 10 + "'>"),
        _page("/image-broken", "Broken image",
              body="<img src='/img/missing.png' alt='Gone' width='10' height='10'>"),
        _page("/heavy-image", "Heavy image",
              body="<img src='/img/big.png' alt='Big' width='10' height='10'>"),
        _page("/blank-link", "Link opening a tab without noopener",
              body=f"<a href='{away}/partner' target='_blank'>Our partner's shop</a>"),
        _page("/external-broken", "Broken external link",
              body=f"<a href='{away}/gone'>A guide on another site</a>"),
        _page("/external-unreachable", "External link to a site that does not answer",
              body=f"<a href='{elsewhere.nothing}/'>A site that has closed</a>"),
        # Sponsored and user-generated links are followed by visitors all the same.
        _page("/external-sponsored", "Broken sponsored external link",
              body=f"<a href='{away}/sponsored-gone' rel='sponsored ugc nofollow'>Our sponsor's offer</a>"),
        _page("/external-redirect", "External link to a redirect",
              body=f"<a href='{away}/moved'>Our partner's old address</a>"),
        _page("/generic-anchor", "Generic anchor text", body="<a href='/'>Click here</a>"),
        _page("/empty-anchor", "Empty anchor text", body="<a href='/'></a>"),
        _page("/duplicate-ids", "Duplicate ids", body="<div id='box'></div><div id='box'></div>"),
        _page("/not-found", "Page not found", title="Page not found - Example corpus"),
        _page("/mixed-content", "Mixed content",
              body="<script src='http://cdn.example.org/app.js'></script>"),
        _page("/insecure-form", "Insecure form",
              body="<form action='http://forms.example.org/go'><input name='q'></form>"),
        _page("/no-security-headers", "No security headers"),
        _page("/dead-end", "Dead end", nav=[]),
        _page("/many-links", "Too many links", body=many),
        _page("/near-a", "Near duplicate A", seed="near"),
        _page("/near-b", "Near duplicate B", seed="near", body="<p>One extra line.</p>"),
        _page("/dup-1", "Exact duplicate", title="The same page twice in the corpus site",
              description="The same description on two pages of the defect corpus site, "
              "word for word.", seed="dup"),
        _page("/dup-2", "Exact duplicate", title="The same page twice in the corpus site",
              description="The same description on two pages of the defect corpus site, "
              "word for word.", seed="dup"),
        _page("/only-nofollow", "Reached only through nofollow links"),
        _page("/mixed-inlinks", "Both follow and nofollow inlinks"),
        _page("/unlisted", "Missing from the sitemap", in_sitemap=False),
        _page("/orphan", "Orphan page"),
        _page("/under_score", "Underscore in URL"),
        _page("/UpperCase", "Uppercase in URL"),
        _page("/slow", "Slow page"),
        _page("/no-google", "Disallowed for Googlebot", in_sitemap=False),
        *[_page(f"/deep-{n}", f"Deep page {n}", body=f"<a href='/deep-{n + 1}'>Deeper, level {n + 1}</a>")
          for n in range(1, 5)],
        _page("/deep-5", "Deep page 5"),
        _page("/refresh", "Meta refresh", head="<meta http-equiv='refresh' content='0; url=/'>",
              in_sitemap=False, words=5),
        _page("/refresh-broken", "Meta refresh to a missing page", in_sitemap=False,
              head="<meta http-equiv='refresh' content='0; url=/refresh-target-gone'>"),
    ]  # fmt: skip


# Linked from the home page (besides every page above but the orphan and the deep ones).
_REDIRECTS = {
    "/old": redirect("/"),
    "/temp": redirect("/", 302),
    "/chain-1": redirect("/chain-2"),
    "/chain-2": redirect("/"),
    "/loop-a": redirect("/loop-b"),
    "/loop-b": redirect("/loop-a"),
    "/to-missing": redirect("/missing-page"),
}
_UNLINKED = {"/orphan", "/deep-2", "/deep-3", "/deep-4", "/deep-5", "/canon-chain-b"}


def routes(base: str, elsewhere: Elsewhere) -> dict[str, Route]:
    headers = {**SECURITY_HEADERS, **HSTS}
    pages = _pages(base, elsewhere)
    targets = [p.path for p in pages if p.path not in _UNLINKED and p.path != "/only-nofollow"]
    home_body = (
        "".join(f"<a href='{path}'>Defect page {path[1:]}</a> " for path in targets)
        + "".join(f"<a href='{path}'>Redirect {path[1:]}</a> " for path in _REDIRECTS)
        + "<a href='/missing-page'>A page that is gone</a> "
        + "<a href='/server-error'>A page that fails</a> "
        + "<a href='/private/area'>The private area</a> "
        + "<a href='/only-nofollow' rel='nofollow'>Reached only through nofollow</a> "
        # A healthy external link (also on /blank-link: its target is checked once).
        + f"<a href='{elsewhere.site}/partner'>Our partner's shop</a> "
    )
    home = Page("/", "The defect corpus: one defect per page, for audits",
                "A home page linking to every page of the defect corpus, each showing one "
                "known defect for the audit to find and count.", "The defect corpus",
                body=home_body)  # fmt: skip
    found: dict[str, Route] = {"/": home.route(base, extra_headers=headers)}
    for page in pages:
        found[page.path] = page.route(
            base, extra_headers={} if page.path == "/no-security-headers" else headers
        )
    # A nofollow link beside the home page's followed one.
    thin = next(p for p in pages if p.path == "/thin")
    thin.body = "<a href='/mixed-inlinks' rel='nofollow'>Both kinds of inlinks</a>"
    found["/thin"] = thin.route(base, extra_headers=headers)
    found["/no-google"].headers.update(headers)
    found.update(_REDIRECTS)
    found["/slow"].delay = 1.1
    found["/server-error"] = Route(status=500, body="<html><body>Broken</body></html>")
    found["/private/area"] = Route(body="<html><body>Private</body></html>")
    found["/img/a.png"] = image()
    found["/img/big.png"] = Route(body=PNG + b"\0" * 250_000, content_type="image/png")
    found["/robots.txt"] = Route(
        content_type="text/plain",
        body=(
            "User-agent: *\nDisallow: /private/\n\n"
            "User-agent: Googlebot\nDisallow: /private/\nDisallow: /no-google\n\n"
            f"Sitemap: {base}/sitemap.xml\nSitemap: {base}/sitemap-extra.xml\n"
        ),
    )
    listed = ["/", *(p.path for p in pages if p.in_sitemap)]
    found["/sitemap.xml"] = sitemap(base, listed)
    # A second sitemap listing what a sitemap should not.
    found["/sitemap-extra.xml"] = sitemap(
        base, ["/thin", "/missing-page", "/noindex", "/canon-to-404", "/private/area"]
    )
    return found


PAGES_BY_STATUS = {"2xx": 74, "3xx": 7, "4xx": 3, "5xx": 1, "blocked": 1}
# Every count, checked by hand: one defect per page unless noted.
EXPECTED: dict[str, int] = {
    "anchor_text_empty": 1,
    "anchor_text_generic": 1,
    "blocked_by_robots_linked": 1,
    "blocked_for_search_engine": 1,
    "canonical_chain": 1,
    "canonical_fragment": 1,
    "canonical_missing": 2,  # /no-canonical, /canonical-in-body (its canonical is in the body)
    "canonical_multiple": 1,
    "canonical_outside_head": 1,
    "canonical_relative": 1,
    "canonical_to_4xx": 1,
    "canonical_to_non_indexable": 1,
    "canonical_to_redirect": 1,
    "content_type_options_missing": 1,
    "dead_end": 1,
    "deep_page": 1,
    "duplicate_content": 2,  # /dup-1, /dup-2
    "duplicate_ids": 1,
    # /external-broken (404), /external-unreachable (no answer), /external-sponsored (410)
    "external_link_broken": 3,
    "external_link_redirect": 1,
    "frame_protection_missing": 1,
    "h1_missing": 1,
    "h1_multiple": 1,
    "head_element_in_body": 1,
    "heading_order": 1,
    "hsts_missing": 1,
    "http_4xx": 4,  # /missing-page, /refresh-target-gone, /other (a canonical), /img/missing.png
    "http_5xx": 1,
    "image_alt_too_long": 1,
    "image_broken": 1,
    "image_missing_alt": 1,
    "image_missing_dimensions": 1,
    "image_too_large": 1,
    "insecure_form": 1,
    "internal_link_to_4xx": 1,
    "internal_link_to_5xx": 1,
    "internal_link_to_redirect": 1,
    "internal_nofollow": 2,  # / and /thin
    "lang_invalid": 1,
    "lang_missing": 1,
    "meta_description_duplicate": 2,  # /dup-1, /dup-2
    "meta_description_missing": 1,
    "meta_description_multiple": 1,
    "meta_description_too_long": 1,
    "meta_description_too_short": 1,
    "meta_refresh": 2,  # /refresh, /refresh-broken
    "meta_refresh_to_error": 1,
    "mixed_content": 1,
    "mixed_follow_inlinks": 1,
    "near_duplicate_content": 2,  # /near-a, /near-b
    "nofollow_page": 1,
    "noindex": 3,  # /noindex, /googlebot-noindex, /robots-conflict (not /bingbot-noindex)
    "nosnippet": 1,
    "only_nofollow_inlinks": 1,
    "orphan_page": 1,
    "redirect_chain": 3,  # /chain-1, /loop-a, /loop-b
    "redirect_loop": 2,  # /loop-a, /loop-b
    "redirect_temporary": 1,
    "redirect_to_error": 1,
    "robots_directives_conflict": 1,
    "sitemap_blocked_by_robots": 1,
    "sitemap_missing_indexable": 1,
    "sitemap_multiple": 1,
    "sitemap_noindex": 1,
    "sitemap_non_200": 1,
    "sitemap_non_canonical": 1,
    "slow_response": 1,  # /slow
    "soft_404": 1,
    "structured_data_invalid": 1,
    "structured_data_missing": 1,
    "structured_data_missing_property": 1,
    "thin_content": 1,
    "title_duplicate": 2,  # /dup-1, /dup-2
    "title_empty": 1,
    "title_missing": 1,
    "title_multiple": 1,
    "title_too_long": 1,
    "title_too_short": 1,
    "too_many_links": 1,
    "unsafe_target_blank": 1,
    "url_underscores": 1,
    "url_uppercase": 1,
    "viewport_missing": 1,
}
