"""HTML -> the facts a `CrawledPage` carries, with selectolax's Lexbor engine (an HTML5
parser in C: it builds the tree of an 8 KB page in well under a millisecond)."""

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from app.audits.crawl.urls import DEFAULT_TRACKING_PARAMS, SiteScope, normalize_url
from app.audits.page import CrawledPage, Hreflang, Image, Link

_INVISIBLE_TAGS = ["script", "style", "noscript", "template", "svg"]
_SUBRESOURCE_SELECTORS = (
    ("script[src]", "src"),
    ("img[src]", "src"),
    ("iframe[src]", "src"),
    ("audio[src]", "src"),
    ("video[src]", "src"),
    ("source[src]", "src"),
    ("embed[src]", "src"),
    ("link[rel~=stylesheet][href]", "href"),
)
# Mount points of the common single-page-app frameworks.
_APP_ROOT_SELECTOR = "#root, #app, #__next, #__nuxt, #___gatsby, app-root, [data-reactroot]"
_HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


def decode_html(body: bytes, charset: str | None) -> str:
    """Text of a response: the declared charset, else UTF-8, else Windows-1252 (what
    browsers fall back to for undeclared Western pages)."""
    if charset:
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252", errors="replace")


def _text(node: LexborNode) -> str:
    return " ".join(node.text(deep=True, separator=" ").split())


def _attr(node: LexborNode, name: str) -> str | None:
    value = node.attributes.get(name)
    return value.strip() if isinstance(value, str) else None


def _rel_tokens(node: LexborNode) -> set[str]:
    rel = node.attributes.get("rel") or ""
    return {token.lower() for token in rel.split()}


def _json_ld_types(data: Any) -> Iterator[str]:
    if isinstance(data, list):
        for item in data:
            yield from _json_ld_types(item)
    elif isinstance(data, dict):
        kind = data.get("@type")
        if isinstance(kind, str):
            yield kind
        elif isinstance(kind, list):
            yield from (k for k in kind if isinstance(k, str))
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in data:
                yield from _json_ld_types(data[key])


def _refresh_target(content: str, base: str, tracking: tuple[str, ...]) -> str | None:
    # `5; url=/next`, `5;URL='/next'` or `5; /next`; a bare delay reloads the page itself.
    _, _, rest = content.partition(";")
    rest = rest.strip()
    if rest[:3].lower() == "url":
        name, equals, value = rest.partition("=")
        if equals and not name[3:].strip():
            rest = value
    rest = rest.strip().strip("'\"").strip()
    if not rest:
        return None
    return normalize_url(rest, base=base, tracking_params=tracking)


def parse_html(
    page: CrawledPage,
    html: str,
    *,
    scope: SiteScope,
    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS,
    bot_token: str = "",
) -> None:
    """Fill `page`'s HTML fields from `html`, the document served at `page.final_url`."""
    page_url = page.final_url or page.url
    tree = LexborHTMLParser(html)
    base = page_url
    base_node = tree.css_first("base[href]")
    if base_node is not None:
        base = normalize_url(_attr(base_node, "href") or "", base=page_url) or page_url

    page.titles = [_text(node) for node in tree.css("title")]
    robots_names = {"robots"} | ({bot_token.lower()} if bot_token else set())
    for meta in tree.css("meta"):
        attrs = meta.attributes
        name = (attrs.get("name") or "").strip().lower()
        content = (attrs.get("content") or "").strip()
        if name == "description":
            page.meta_descriptions.append(content)
        elif name in robots_names:
            page.meta_robots.append(content.lower())
        elif name == "viewport" and page.viewport is None:
            page.viewport = content
        elif (attrs.get("http-equiv") or "").strip().lower() == "refresh" and content:
            page.meta_refresh = _refresh_target(content, base, tracking_params)

    html_node = tree.css_first("html")
    if html_node is not None:
        lang = _attr(html_node, "lang")
        page.lang = lang or None

    for link in tree.css("link[href]"):
        rel = _rel_tokens(link)
        href = _attr(link, "href") or ""
        if "canonical" in rel:
            page.canonicals.append(href)
        if "alternate" in rel and link.attributes.get("hreflang"):
            target = normalize_url(href, base=base, tracking_params=tracking_params)
            lang = (link.attributes.get("hreflang") or "").strip()
            page.hreflang.append(Hreflang(lang=lang, url=target or href))

    for heading in tree.css("h1, h2, h3, h4, h5, h6"):
        level = _HEADINGS[heading.tag or "h1"]
        page.heading_levels.append(level)
        if level == 1:
            page.h1.append(_text(heading))
        elif level == 2:
            page.h2.append(_text(heading))

    seen_links: set[tuple[str, str]] = set()
    for anchor in tree.css("a[href], area[href]"):
        target = normalize_url(
            anchor.attributes.get("href") or "", base=base, tracking_params=tracking_params
        )
        if target is None:
            continue
        anchor_text = _text(anchor) or (_attr(anchor, "title") or "")
        if not anchor_text:
            image = anchor.css_first("img[alt]")
            anchor_text = (_attr(image, "alt") or "") if image is not None else ""
        key = (target, anchor_text)
        if key in seen_links:
            continue  # the same link twice (menu + footer) says nothing new
        seen_links.add(key)
        page.links.append(
            Link(
                url=target,
                anchor_text=anchor_text[:500],
                nofollow="nofollow" in _rel_tokens(anchor),
                internal=scope.contains(target),
            )
        )

    for image in tree.css("img"):
        src = _attr(image, "src") or _attr(image, "data-src") or ""
        if not src or src.startswith("data:"):
            continue
        absolute = normalize_url(src, base=base, tracking_params=()) or src
        page.images.append(Image(src=absolute, alt=image.attributes.get("alt")))

    types: list[str] = []
    scripts = tree.css("script")
    page.script_count = len(scripts)
    for script in scripts:
        if (script.attributes.get("type") or "").strip().lower() == "application/ld+json":
            try:
                types.extend(_json_ld_types(json.loads(script.text(deep=True) or "null")))
            except ValueError:
                types.append("invalid-json-ld")
    for node in tree.css("[itemtype]"):
        for item_type in (node.attributes.get("itemtype") or "").split():
            types.append(item_type.rstrip("/").rsplit("/", 1)[-1])
    page.structured_data_types = list(dict.fromkeys(types))

    # Mixed content and insecure forms only mean something on a page served over https.
    if page_url.startswith("https://"):
        for selector, attribute in _SUBRESOURCE_SELECTORS:
            for node in tree.css(selector):
                value = _attr(node, attribute) or ""
                if value.lower().startswith("http://"):
                    page.insecure_resources.append(value)
        for form in tree.css("form[action]"):
            action = normalize_url(_attr(form, "action") or "", base=base, tracking_params=())
            if action is not None and action.startswith("http://"):
                page.insecure_form_actions.append(action)

    for root in tree.css(_APP_ROOT_SELECTOR):
        if not root.text(deep=True).strip():
            page.empty_app_root = True
            break
    page.noscript_hint = any(
        "javascript" in (node.text(deep=True) or "").lower() for node in tree.css("noscript")
    )

    tree.strip_tags(_INVISIBLE_TAGS)
    body = tree.body
    text = " ".join(body.text(deep=True, separator=" ").split()) if body is not None else ""
    page.word_count = len(text.split())
    page.body_hash = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
