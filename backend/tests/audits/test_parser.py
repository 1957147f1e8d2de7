import html

from app.audits.crawl.parser import decode_html, parse_html
from app.audits.crawl.urls import SiteScope
from app.audits.page import CrawledPage

PAGE = """<!doctype html>
<html lang="en-GB">
<head>
  <base href="https://example.com/docs/">
  <title> First  title </title><title>Second</title>
  <meta name="description" content="One">
  <meta name="Description" content="Two">
  <meta name="robots" content="NoIndex, follow">
  <meta name="seoplatformbot" content="nofollow">
  <meta name="viewport" content="width=device-width">
  <meta http-equiv="refresh" content="5; URL='/moved?utm_source=x'">
  <link rel="canonical" href="/docs/page">
  <link rel="alternate" hreflang="de" href="https://example.com/de/page">
  <link rel="alternate" hreflang="x-default" href="/page">
  <link rel="stylesheet" href="http://cdn.example.net/a.css">
  <script type="application/ld+json">{"@context": "https://schema.org",
    "@graph": [{"@type": "Organization"}, {"@type": ["WebPage", "Article"]}]}</script>
  <script type="application/ld+json">{not json</script>
  <script src="http://cdn.example.net/app.js"></script>
</head>
<body>
  <h2>Before</h2><h1>Main <em>heading</em></h1><h3>Deep</h3><h1>Second h1</h1>
  <div itemscope itemtype="https://schema.org/Product">Product</div>
  <p>Four words of text.</p>
  <script>var hidden = "not counted words";</script>
  <style>.x { color: red }</style>
  <a href="child">Relative to base</a>
  <a href="https://example.com/docs/child#section">Relative to base</a>
  <a href="https://www.example.com/x" rel="nofollow ugc">Nofollowed</a>
  <a href="https://other.org/">External</a>
  <a href="mailto:a@b.c">Mail</a>
  <a href="/pic"><img src="/icon.png" alt="Icon link"></a>
  <img src="/a.png" alt="">
  <img src="http://example.com/b.png">
  <form action="http://example.com/login"></form>
</body></html>"""


def parsed() -> CrawledPage:
    page = CrawledPage(url="https://example.com/docs/page", depth=0)
    parse_html(
        page,
        PAGE,
        scope=SiteScope("https://example.com/", include_subdomains=False),
        bot_token="seoplatformbot",
    )
    return page


def test_head_fields() -> None:
    page = parsed()
    assert page.titles == ["First title", "Second"]
    assert page.meta_descriptions == ["One", "Two"]
    # A crawler's own tag keeps its name, as X-Robots-Tag writes it.
    assert page.meta_robots == ["noindex, follow", "seoplatformbot: nofollow"]
    assert page.viewport == "width=device-width"
    assert page.meta_refresh == "https://example.com/moved"
    assert page.canonicals == ["/docs/page"]
    assert [(h.lang, h.url) for h in page.hreflang] == [
        ("de", "https://example.com/de/page"),
        ("x-default", "https://example.com/page"),
    ]
    assert page.lang == "en-GB"


def test_headings_in_document_order() -> None:
    page = parsed()
    assert page.h1 == ["Main heading", "Second h1"]
    assert page.h2 == ["Before"]
    assert page.heading_levels == [2, 1, 3, 1]


def test_links_are_absolute_deduplicated_and_classified() -> None:
    page = parsed()
    by_url = {link.url: link for link in page.links}
    # <base href> applies; the fragment goes; the same link twice counts once.
    assert [link.url for link in page.links].count("https://example.com/docs/child") == 1
    assert by_url["https://www.example.com/x"].nofollow
    assert by_url["https://www.example.com/x"].internal
    assert not by_url["https://other.org/"].internal
    assert by_url["https://example.com/pic"].anchor_text == "Icon link"
    assert not any(link.url.startswith("mailto") for link in page.links)


def test_images_structured_data_and_insecure_parts() -> None:
    page = parsed()
    assert [(i.src, i.alt) for i in page.images] == [
        ("https://example.com/icon.png", "Icon link"),
        ("https://example.com/a.png", ""),
        ("http://example.com/b.png", None),
    ]
    assert page.structured_data_types == [
        "Organization",
        "WebPage",
        "Article",
        "Product",
    ]
    # Invalid JSON-LD is a parse error with its line, not a type.
    assert page.structured_data_errors == [
        "line 18: Expecting property name enclosed in double quotes"
    ]
    assert page.insecure_resources == [
        "http://cdn.example.net/app.js",
        "http://example.com/b.png",
        "http://cdn.example.net/a.css",
    ]
    assert page.insecure_form_actions == ["http://example.com/login"]
    assert page.script_count == 4


def test_word_count_ignores_scripts_and_styles_and_hash_follows_text() -> None:
    page = parsed()
    visible = "Before Main heading Deep Second h1 Product Four words of text."
    link_texts = "Relative to base Relative to base Nofollowed External Mail"
    assert page.word_count == len(visible.split()) + len(link_texts.split())
    other = CrawledPage(url="https://example.com/copy", depth=1)
    parse_html(
        other, PAGE.replace("First", "Changed"), scope=SiteScope("https://example.com/", False)
    )
    assert other.body_hash == page.body_hash  # same body text, other head
    changed = CrawledPage(url="https://example.com/c", depth=1)
    parse_html(
        changed, PAGE.replace("Four", "Five"), scope=SiteScope("https://example.com/", False)
    )
    assert changed.body_hash != page.body_hash


def test_http_pages_report_no_mixed_content() -> None:
    page = CrawledPage(url="http://example.com/", depth=0)
    parse_html(
        page,
        PAGE.replace('<base href="https://example.com/docs/">', ""),
        scope=SiteScope("http://example.com/", False),
    )
    assert page.insecure_resources == []
    assert page.insecure_form_actions == []


def test_decoding() -> None:
    assert decode_html("café".encode("latin-1"), "iso-8859-1") == "café"
    assert decode_html("café".encode(), None) == "café"
    assert decode_html("café".encode("cp1252"), None) == "café"
    assert decode_html(b"abc", "no-such-charset") == "abc"


def test_meta_refresh_forms() -> None:
    scope = SiteScope("https://example.com/", include_subdomains=False)
    for content, expected in [
        ("0; url=/next", "https://example.com/next"),
        ("0;URL='https://example.com/b'", "https://example.com/b"),
        ('3; url = "/c"', "https://example.com/c"),
        ("0; /d", "https://example.com/d"),
        ("30", None),
    ]:
        page = CrawledPage(url="https://example.com/", depth=0)
        meta = f'<meta http-equiv="refresh" content="{html.escape(content, quote=True)}">'
        parse_html(page, f"<html><head>{meta}</head></html>", scope=scope)
        assert page.meta_refresh == expected, content
