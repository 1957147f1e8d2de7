"""HTML -> the facts a `CrawledPage` carries, with selectolax's Lexbor engine (an HTML5
parser in C: it builds the tree of an 8 KB page in well under a millisecond)."""

import hashlib
import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from selectolax.lexbor import LexborCSSSelector, LexborHTMLParser, LexborNode

from app.audits.crawl.text import simhash, words
from app.audits.crawl.urls import DEFAULT_TRACKING_PARAMS, SiteScope, normalize_url
from app.audits.page import CrawledPage, Hreflang, Image, Link

_INVISIBLE_TAGS = ["script", "style", "noscript", "template", "svg", "math"]
# Page furniture, left out of the main content's words.
_FURNITURE = "nav, header, footer, aside, [role=navigation], [role=banner], [role=contentinfo]"
# Robots meta tags a crawler reads besides name="robots": its own name (googlebot, bingbot...).
_CRAWLER_NAME = re.compile(r"^[a-z0-9_-]*bot(-[a-z]+)?$|^(slurp|teoma|yandex|baiduspider)$")
# <head>/<body> start tags as written (the HTML parser merges repeated ones), once comments,
# scripts and styles are set aside.
_HEAD_OR_BODY_TAG = re.compile(r"<(head|body)[\s>/]", re.IGNORECASE)
_NOT_MARKUP = re.compile(
    r"<!--.*?-->|<script\b.*?</script\s*>|<style\b.*?</style\s*>", re.IGNORECASE | re.DOTALL
)
# What parse_html reads, found in one search of the tree (a search parses its selector
# list each time, which costs more than matching it): all of different elements, so no
# element is found twice, and each kind keeps document order.
_COLLECTED = ", ".join(
    [
        "base[href]",
        "title",
        "meta",
        "html",
        "link[href]",
        "h1, h2, h3, h4, h5, h6",
        "a[href], area[href]",
        "img",
        "script",
        "noscript",
        "iframe[src], audio[src], video[src], source[src], embed[src]",
        "form[action]",
    ]
)
# Kinds read in document order across several elements.
_GROUPS = {
    **{f"h{level}": "heading" for level in range(1, 7)},
    "a": "anchor",
    "area": "anchor",
}
# Subresources (mixed content), reported in this order; stylesheets are searched apart.
_SUBRESOURCES = (
    ("script", "src"),
    ("img", "src"),
    ("iframe", "src"),
    ("audio", "src"),
    ("video", "src"),
    ("source", "src"),
    ("embed", "src"),
    ("link", "href"),
)
_STYLESHEETS = "link[rel~=stylesheet][href]"
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


class _Selector(threading.local):
    """One selector engine for every document: `tree.css()` sets one up (CSS parser,
    selector state, their memory) for each document, though it keeps nothing of a
    document between searches."""

    def __init__(self) -> None:
        self.engine = LexborCSSSelector()  # type: ignore[no-untyped-call]  # stub lacks -> None


_SELECTOR = _Selector()


def _css(node: LexborNode | None, query: str) -> list[LexborNode]:
    """`node.css(query)` (None: no document, nothing found)."""
    return [] if node is None else _SELECTOR.engine.find(query, node)


def _css_first(node: LexborNode | None, query: str) -> LexborNode | None:
    found = _css(node, query)
    return found[0] if found else None


def _text(node: LexborNode) -> str:
    return " ".join(node.text(deep=True, separator=" ").split())


def _attr(node: LexborNode, name: str) -> str | None:
    value = node.attributes.get(name)
    return value.strip() if isinstance(value, str) else None


def _stripped(value: str | None) -> str:
    return value.strip() if isinstance(value, str) else ""


def _tokens(value: str | None) -> set[str]:
    return {token.lower() for token in value.split()} if value else set()


def _rel_tokens(node: LexborNode) -> set[str]:
    return _tokens(node.attributes.get("rel"))


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


# Properties a type needs to be understood (Google's required properties for its rich
# results; schema.org's core ones where Google requires none).
REQUIRED_PROPERTIES: dict[str, tuple[tuple[str, ...], ...]] = {
    "Article": (("headline",),),
    "NewsArticle": (("headline",),),
    "BlogPosting": (("headline",),),
    "Product": (("name",), ("offers", "review", "aggregateRating")),
    "BreadcrumbList": (("itemListElement",),),
    "Organization": (("name",),),
    "FAQPage": (("mainEntity",),),
    "LocalBusiness": (("name",), ("address",)),
    "Question": (("name",), ("acceptedAnswer",)),
    "ListItem": (("position",),),
}


def _json_ld_objects(data: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for item in data:
            yield from _json_ld_objects(item)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "itemListElement"):
            if key in data:
                yield from _json_ld_objects(data[key])


def _missing_properties(data: Any) -> list[str]:
    missing = []
    for item in _json_ld_objects(data):
        kinds = item.get("@type")
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            for alternatives in REQUIRED_PROPERTIES.get(kind if isinstance(kind, str) else "", ()):
                if not any(item.get(name) not in (None, "", [], {}) for name in alternatives):
                    missing.append(f"{kind}: {' or '.join(alternatives)}")
    return list(dict.fromkeys(missing))


def _json_ld_error(html: str, raw: str, error: json.JSONDecodeError) -> str:
    """`line N: message`, N counted in the HTML document when the script is found in it."""
    at = html.find(raw) if raw.strip() else -1
    line = error.lineno + (html.count("\n", 0, at) if at >= 0 else 0)
    return f"line {line}: {error.msg}"


def _in_svg(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in ("svg", "math"):
            return True
        parent = parent.parent
    return False


def _parent_tag(node: LexborNode) -> str | None:
    parent = node.parent
    return None if parent is None else parent.tag


def _under_body(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag == "body":
            return True
        parent = parent.parent
    return False


def _in_head(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag == "head":
            return True
        if parent.tag == "body":
            return False
        parent = parent.parent
    return False


def _main_content(tree: LexborHTMLParser) -> LexborNode | None:
    """The main content: <main> (or role=main), else the one <article>, else the body
    without navigation, header, footer and asides. None: the body as it is."""
    root = tree.root
    main = _css_first(root, "main, [role=main]")
    if main is not None:
        return main
    articles = _css(root, "article")
    if len(articles) == 1:
        return articles[0]
    furniture = _css(root, _FURNITURE)
    if not furniture:
        return None
    for node in furniture:
        node.decompose()
    return tree.body


def _robots_meta_name(name: str, bot_token: str) -> str | None:
    """How a robots meta tag is stored: "" for name=robots, the crawler's name for one
    naming a crawler, None for other meta tags."""
    if name == "robots":
        return ""
    if name and (name == bot_token or _CRAWLER_NAME.match(name)):
        return name
    return None


def _declared_twice(html: str) -> tuple[int, int]:
    """How many <head> and <body> start tags the HTML has (comments, scripts and styles
    aside, looked at only when the tags seem to repeat)."""
    found = Counter(match.group(1).lower() for match in _HEAD_OR_BODY_TAG.finditer(html))
    if found["head"] > 1 or found["body"] > 1:
        raw = _NOT_MARKUP.sub("", html)
        found = Counter(match.group(1).lower() for match in _HEAD_OR_BODY_TAG.finditer(raw))
    return found["head"], found["body"]


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
    # One search for the elements read below (each search parses its selector again).
    found: dict[str, list[LexborNode]] = {}
    root = tree.root
    for node in _css(root, _COLLECTED):
        tag = node.tag or ""
        found.setdefault(_GROUPS.get(tag, tag), []).append(node)
    base = page_url
    if "base" in found:
        base = normalize_url(_attr(found["base"][0], "href") or "", base=page_url) or page_url

    titles = found.get("title", [])
    page.titles = [_text(node) for node in titles if _parent_tag(node) == "head"]
    if any(_under_body(node) and not _in_svg(node) for node in titles):
        page.in_body.append("title")
    for meta in found.get("meta", []):
        attrs = meta.attributes
        name = (attrs.get("name") or "").strip().lower()
        content = (attrs.get("content") or "").strip()
        robots = _robots_meta_name(name, bot_token.lower())
        if (name in ("description", "viewport") or robots is not None) and not _in_head(meta):
            page.in_body.append(f"meta {name}")
            continue
        if name == "description":
            page.meta_descriptions.append(content)
        elif robots is not None:
            page.meta_robots.append(f"{robots}: {content.lower()}" if robots else content.lower())
        elif name == "viewport" and page.viewport is None:
            page.viewport = content
        elif (attrs.get("http-equiv") or "").strip().lower() == "refresh" and content:
            page.meta_refresh = _refresh_target(content, base, tracking_params)

    if "html" in found:
        lang = _attr(found["html"][0], "lang")
        page.lang = lang or None

    for link in found.get("link", []):
        rel = _rel_tokens(link)
        href = _attr(link, "href") or ""
        in_head = _in_head(link)
        if "canonical" in rel:
            if in_head:
                page.canonicals.append(href)
            else:
                page.in_body.append("link canonical")
        if "alternate" in rel and link.attributes.get("hreflang"):
            if not in_head:
                page.in_body.append("link hreflang")
                continue
            target = normalize_url(href, base=base, tracking_params=tracking_params)
            lang = (link.attributes.get("hreflang") or "").strip()
            page.hreflang.append(Hreflang(lang=lang, url=target or href))
    page.in_body = list(dict.fromkeys(page.in_body))
    page.head_count, page.body_count = _declared_twice(html)
    ids = Counter(
        value.strip()
        for node in _css(root, "[id]")
        if (value := node.attributes.get("id")) and value.strip()
    )
    page.duplicate_ids = sorted(value for value, count in ids.items() if count > 1)[:50]

    for heading in found.get("heading", []):
        level = _HEADINGS[heading.tag or "h1"]
        page.heading_levels.append(level)
        if level == 1:
            page.h1.append(_text(heading))
        elif level == 2:
            page.h2.append(_text(heading))

    seen_links: set[tuple[str, str]] = set()
    for anchor in found.get("anchor", []):
        attrs = anchor.attributes  # a new dict each time it is read: read once
        target = normalize_url(attrs.get("href") or "", base=base, tracking_params=tracking_params)
        if target is None:
            continue
        anchor_text = (
            _text(anchor) or _stripped(attrs.get("aria-label")) or _stripped(attrs.get("title"))
        )
        if not anchor_text:
            image = _css_first(anchor, "img[alt]")
            anchor_text = (_attr(image, "alt") or "") if image is not None else ""
        rel = _tokens(attrs.get("rel"))
        if (
            (attrs.get("target") or "").strip().lower() == "_blank"
            and not rel & {"noopener", "noreferrer"}
            and urlsplit(target).hostname != urlsplit(page_url).hostname
        ):
            page.unsafe_blank_links.append(target)
        key = (target, anchor_text)
        if key in seen_links:
            continue  # the same link twice (menu + footer) says nothing new
        seen_links.add(key)
        page.links.append(
            Link(
                url=target,
                anchor_text=anchor_text[:500],
                nofollow="nofollow" in rel,
                internal=scope.contains(target),
            )
        )

    for image in found.get("img", []):
        src = _attr(image, "src") or _attr(image, "data-src") or ""
        if not src or src.startswith("data:"):
            continue
        absolute = normalize_url(src, base=base, tracking_params=()) or src
        sized = bool(_attr(image, "width")) and bool(_attr(image, "height"))
        page.images.append(Image(src=absolute, alt=image.attributes.get("alt"), sized=sized))

    types: list[str] = []
    scripts = found.get("script", [])
    page.script_count = len(scripts)
    for script in scripts:
        if (script.attributes.get("type") or "").strip().lower() == "application/ld+json":
            raw = script.text(deep=True) or ""
            try:
                data = json.loads(raw)
            except json.JSONDecodeError as error:
                page.structured_data_errors.append(_json_ld_error(html, raw, error))
                continue
            types.extend(_json_ld_types(data))
            page.structured_data_missing.extend(_missing_properties(data))
    for node in _css(root, "[itemtype]"):
        for item_type in (node.attributes.get("itemtype") or "").split():
            types.append(item_type.rstrip("/").rsplit("/", 1)[-1])
    page.structured_data_types = list(dict.fromkeys(types))

    # Mixed content and insecure forms only mean something on a page served over https.
    if page_url.startswith("https://"):
        for tag, attribute in _SUBRESOURCES:
            if tag == "link":
                nodes = _css(root, _STYLESHEETS)
            else:
                nodes = [node for node in found.get(tag, []) if attribute in node.attributes]
            for node in nodes:
                value = _attr(node, attribute) or ""
                if value.lower().startswith("http://"):
                    page.insecure_resources.append(value)
        for form in found.get("form", []):
            action = normalize_url(_attr(form, "action") or "", base=base, tracking_params=())
            if action is not None and action.startswith("http://"):
                page.insecure_form_actions.append(action)

    for app_root in _css(root, _APP_ROOT_SELECTOR):
        if not app_root.text(deep=True).strip():
            page.empty_app_root = True
            break
    page.noscript_hint = any(
        "javascript" in (node.text(deep=True) or "").lower() for node in found.get("noscript", [])
    )

    page.unsafe_blank_links = list(dict.fromkeys(page.unsafe_blank_links))
    page.structured_data_missing = list(dict.fromkeys(page.structured_data_missing))

    tree.strip_tags(_INVISIBLE_TAGS)
    body = tree.body
    text = " ".join(body.text(deep=True, separator=" ").split()) if body is not None else ""
    page.body_hash = hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
    main = _main_content(tree)
    main_text = text if main is None else main.text(deep=True, separator=" ")
    main_words = words(main_text.lower())
    page.word_count = len(main_words)
    page.simhash = simhash(main_words)
