"""A best-practice site: HTTPS with security headers, robots.txt and a sitemap, unique
titles and descriptions, one h1, main content of a few hundred words, self canonicals,
structured data, sized images with alt text. A correct audit finds nothing here."""

from tests.audits.corpus.common import (
    HSTS,
    SECURITY_HEADERS,
    Elsewhere,
    Page,
    image,
    robots,
    sitemap,
)
from tests.fakes.site_server import Route

NAV = [
    ("/", "Home"),
    ("/tents", "Tents for every season"),
    ("/backpacks", "Hiking backpacks"),
    ("/guides/layering", "A guide to layering"),
]
PAGES = [
    Page("/", "Example Outdoor: gear for hikers and campers", "Tents, backpacks and "
         "clothing for hikers and campers, chosen and tested by people who use them.",
         "Gear for the outdoors"),
    Page("/tents", "Tents for every season | Example Outdoor", "Three-season and winter tents "
         "compared: weight, space, set-up time and how they stand up to wind and rain.",
         "Tents for every season"),
    Page("/backpacks", "Hiking backpacks and how to fit them | Example Outdoor",
         "Day packs and trekking backpacks: sizes, fit, frames and the features that matter "
         "on long walks.", "Hiking backpacks"),
    Page("/guides/layering", "Layering for cold weather: a practical guide",
         "How base, mid and outer layers work together to keep you warm and dry, with "
         "examples for walking, climbing and camping.", "A guide to layering",
         json_ld={"@context": "https://schema.org", "@type": "Article",
                  "headline": "Layering for cold weather", "author": "Example"}),
]  # fmt: skip
IMAGE = "<img src='/img/tent.png' alt='A green tent pitched on a hill' width='600' height='400'>"


def routes(base: str, elsewhere: Elsewhere) -> dict[str, Route]:
    headers = {**SECURITY_HEADERS, **HSTS}
    # Links to another site that answers, one of them sponsored and opening a tab safely.
    further = (
        f"<p><a href='{elsewhere.site}/partner'>The mountain guides we work with</a> and "
        f"<a href='{elsewhere.site}/partner' rel='sponsored noopener' target='_blank'>"
        "their winter courses</a>.</p>"
    )
    found = {
        page.path: Page(
            **{**page.__dict__, "nav": NAV, "body": IMAGE + (further if page.path == "/" else "")}
        ).route(base, extra_headers=headers)
        for page in PAGES
    }
    found["/robots.txt"] = robots(base)
    found["/sitemap.xml"] = sitemap(base, [page.path for page in PAGES])
    found["/img/tent.png"] = image()
    return found


EXPECTED: dict[str, int] = {}
