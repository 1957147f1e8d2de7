"""A crawled page that passes every single-page check, for tests to spoil one way at a time."""

import dataclasses
from typing import Any

from app.audits.page import CrawledPage, Image, Link

SITE = "https://example.com"


def good_page(url: str = f"{SITE}/good-page", **changes: Any) -> CrawledPage:
    page = CrawledPage(
        url=url,
        depth=1,
        final_url=url,
        status_code=200,
        final_status_code=200,
        response_time_ms=120.0,
        size_bytes=24_000,
        content_type="text/html; charset=utf-8",
        is_html=True,
        titles=[f"A descriptive page title for {url.rsplit('/', 1)[-1]}"[:58]],
        meta_descriptions=[
            f"A meta description that summarises {url} in one useful, complete sentence or two."
        ],
        canonicals=[url],
        h1=["The page's main topic"],
        h2=["A section", "Another section"],
        heading_levels=[1, 2, 2],
        lang="en",
        viewport="width=device-width, initial-scale=1",
        word_count=640,
        body_hash=f"hash-of-{url}",
        links=[
            Link(url=f"{SITE}/", anchor_text="Home", nofollow=False, internal=True),
            Link(url=f"{SITE}/about", anchor_text="About", nofollow=False, internal=True),
            Link(
                url="https://other.example.org/",
                anchor_text="Elsewhere",
                nofollow=True,
                internal=False,
            ),
        ],
        images=[Image(src=f"{SITE}/logo.png", alt="Example logo")],
        structured_data_types=["Article"],
    )
    return dataclasses.replace(page, **changes)
