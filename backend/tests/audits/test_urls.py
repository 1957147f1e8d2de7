from urllib.parse import urljoin

import pytest

from app.audits.crawl.urls import SiteScope, in_scope, normalize_url


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Example.COM:80/a#frag", "http://example.com/a"),
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("http://example.com/a/./b/../c", "http://example.com/a/c"),
        ("http://example.com/a/b/..", "http://example.com/a/"),
        ("http://example.com/%7euser/%e2%82%ac", "http://example.com/~user/%E2%82%AC"),
        ("http://example.com/a b", "http://example.com/a%20b"),
        ("http://example.com/caf\u00e9", "http://example.com/caf%C3%A9"),
        ("http://b\u00fccher.example/", "http://xn--bcher-kva.example/"),
        ("http://fa\u00df.de/", "http://xn--fa-hia.de/"),
        ("http://example.com/?utm_source=x&id=3&gclid=y&fbclid=z", "http://example.com/?id=3"),
        ("http://example.com/?utm_medium=a", "http://example.com/"),
        ("http://user:pw@example.com/", "http://example.com/"),
        ("http://example.com./", "http://example.com/"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("mailto:someone@example.com", None),
        ("ftp://example.com/file", None),
        ("http://example.com:99999/", None),
        ("http://exa mple.com/", None),
        ("http://exa%22mple.com/", None),
    ],
)
def test_normalize_url(raw: str, expected: str | None) -> None:
    assert normalize_url(raw) == expected


def test_relative_urls_resolve_against_the_base() -> None:
    base = "https://example.com/blog/post/"
    assert normalize_url("../about", base=base) == "https://example.com/blog/about"
    assert normalize_url("/x?b=1#top", base=base) == "https://example.com/x?b=1"
    assert normalize_url("//cdn.example.com/a.js", base=base) == "https://cdn.example.com/a.js"
    assert normalize_url("javascript:void(0)", base=base) is None
    assert normalize_url("tel:+100", base=base) is None


def test_tracking_parameters_are_configurable() -> None:
    url = "http://example.com/?ref=nav&utm_source=x"
    assert normalize_url(url, tracking_params=("ref",)) == "http://example.com/?utm_source=x"
    assert normalize_url(url, tracking_params=()) == url


def test_scope_is_the_host_with_optional_subdomains() -> None:
    site = "https://example.com/"
    assert in_scope("http://example.com/a", site, include_subdomains=False)
    assert in_scope("https://www.example.com/a", site, include_subdomains=False)
    assert not in_scope("https://blog.example.com/a", site, include_subdomains=False)
    assert in_scope("https://blog.example.com/a", site, include_subdomains=True)
    assert not in_scope("https://notexample.com/", site, include_subdomains=True)
    assert not in_scope("https://example.com.evil.net/", site, include_subdomains=True)
    assert not in_scope("http://127.0.0.1:8001/", "http://127.0.0.1:8000/", False)
    scope = SiteScope("http://127.0.0.1:8000/", include_subdomains=False)
    assert scope.contains("http://127.0.0.1:8000/x")


@pytest.mark.parametrize(
    "href",
    [
        "/a/../b/./c?utm_source=x&k=1#frag",
        "/p;params?q",
        "/",
        "/%7euser/%41",
        "/sp ace",
        "/a/..//b",
        "/x/..",
        "/..",
        "/t\tab",
        "/ü?é=1",
        "/a?utm_source=only",
        "/bad%zz",
        "/q?",
    ],
)
def test_root_paths_resolve_the_same_against_any_base_of_a_host(href: str) -> None:
    """Root paths are remembered per scheme and host: whatever the rest of the base, the
    answer is urljoin's, and another host or scheme gets its own."""
    bases = [
        "https://Example.com:443/dir/page?x=1#top",
        "https://example.com/",
        "https://user:pw@example.com/other;p",
        "http://example.com/dir/",
        "https://other.test/dir/page",
    ]
    for base in bases:
        expected = normalize_url(urljoin(base, href))
        assert normalize_url(href, base=base) == expected
    results = {normalize_url(href, base=base) for base in bases}
    assert len(results) == 3  # https://example.com, http://example.com, https://other.test


def test_remembered_answers_are_bounded_and_stay_right() -> None:
    from app.audits.crawl import urls

    base = "https://example.com/dir/page"
    for i in range(3 * urls._MAX_REMEMBERED):
        assert normalize_url(f"/p/{i}.html", base=base) == f"https://example.com/p/{i}.html"
        assert normalize_url(f"https://Example.com/q/{i}") == f"https://example.com/q/{i}"
    for caches in (urls._ROOT_PATHS, urls._ABSOLUTE):
        assert all(len(cache) <= urls._MAX_REMEMBERED for cache in caches.values())
    # Evicted and remembered answers alike.
    assert normalize_url("/p/0.html", base="http://other.test/") == "http://other.test/p/0.html"
    last = 3 * urls._MAX_REMEMBERED - 1
    assert normalize_url(f"/p/{last}.html", base=base) == f"https://example.com/p/{last}.html"
