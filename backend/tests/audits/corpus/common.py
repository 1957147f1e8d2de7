"""Pieces of the corpus sites: well-built pages with distinct content, and the headers a
careful site sends."""

import json
import random
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.site_server import Route, redirect

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "frame-ancestors 'self'",
}
HSTS = {"Strict-Transport-Security": "max-age=31536000"}
# A 1x1 PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


VIEWPORT = "<meta name='viewport' content='width=device-width, initial-scale=1'>"


def prose(seed: str, words: int) -> str:
    """`words` words of text that no other seed repeats (so no two pages are near
    duplicates), in sentences."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnoprstuvwy"
    out = []
    for index in range(words):
        word = "".join(rng.choice(letters) for _ in range(rng.randint(3, 9)))
        out.append(word.capitalize() if index % 12 == 0 else word)
        if index % 12 == 11:
            out[-1] += "."
    return " ".join(out)


@dataclass
class Page:
    """A page that passes every check unless told otherwise."""

    path: str
    title: str
    description: str
    h1: str
    words: int = 320
    lang: str = "en"
    head: str = ""
    body: str = ""
    nav: list[tuple[str, str]] = field(default_factory=list)  # (path, anchor text)
    json_ld: dict[str, Any] | None = field(
        default_factory=lambda: {
            "@context": "https://schema.org",
            "@type": "Organization",
            "name": "Example",
        }
    )
    canonical: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    viewport: bool = True
    in_sitemap: bool = True
    seed: str | None = None  # of the main text (the path by default)
    title_tag: str | None = None  # the <title> markup as written, when odd

    def route(self, base: str, *, extra_headers: dict[str, str]) -> Route:
        canonical = f"<link rel='canonical' href='{base}{self.path}'>" if self.canonical else ""
        json_ld = (
            f"<script type='application/ld+json'>{json.dumps(self.json_ld)}</script>"
            if self.json_ld
            else ""
        )
        nav = " ".join(f"<a href='{path}'>{label}</a>" for path, label in self.nav)
        text = prose(self.seed or self.path, self.words)
        html = (
            f"<!doctype html><html lang='{self.lang}'><head><meta charset='utf-8'>"
            f"{self.title_tag if self.title_tag is not None else f'<title>{self.title}</title>'}"
            f"<meta name='description' content='{self.description}'>"
            f"{VIEWPORT if self.viewport else ''}"
            f"{canonical}{json_ld}{self.head}</head>"
            f"<body><header><nav>{nav}</nav></header>"
            f"<main><h1>{self.h1}</h1><h2>Overview</h2><p>{text}</p>"
            f"{self.body}</main><footer><p>Example footer</p></footer></body></html>"
        )
        return Route(status=self.status, body=html, headers={**extra_headers, **self.headers})


def sitemap(base: str, paths: list[str]) -> Route:
    urls = "".join(f"<url><loc>{base}{path}</loc></url>" for path in paths)
    return Route(
        content_type="application/xml",
        body=f"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>",
    )


def robots(base: str, extra: str = "") -> Route:
    return Route(
        content_type="text/plain",
        body=f"User-agent: *\nAllow: /\n{extra}Sitemap: {base}/sitemap.xml\n",
    )


def image() -> Route:
    return Route(body=PNG, content_type="image/png", headers=dict(SECURITY_HEADERS))


@dataclass(frozen=True)
class Elsewhere:
    """Other sites for the corpus's external links, on loopback: `site` serves
    `elsewhere_routes()`, nothing listens at `nothing`."""

    site: str  # http://127.0.0.1:PORT
    nothing: str


def elsewhere_routes() -> dict[str, Route]:
    """Another site's pages: one that answers, one gone, one moved, one sponsored and gone."""
    return {
        "/partner": Route(body="<html><head><title>Partner</title></head><body>Hi</body></html>"),
        "/gone": Route(status=404, body="<html><body>Not found</body></html>"),
        "/moved": redirect("/partner"),
        "/sponsored-gone": Route(status=410, body="<html><body>Gone</body></html>"),
    }
