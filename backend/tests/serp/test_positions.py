"""What a position means: the first organic result on the project's site, `www.` ignored,
subdomains only when the project includes them."""

import pytest

from app.serp.positions import OrganicResult, first_match, site_rule


def _results(*urls: str) -> list[OrganicResult]:
    return [OrganicResult(n, url, f"title {n}") for n, url in enumerate(urls, 1)]


@pytest.mark.parametrize(
    ("site_url", "url", "subdomains", "matches"),
    [
        ("https://example.com/", "https://example.com/page", False, True),
        ("https://example.com/", "https://www.example.com/page", False, True),
        ("https://www.example.com/", "http://example.com/", False, True),
        ("https://example.com/", "https://WWW.Example.COM/Page", False, True),
        ("https://example.com/", "https://blog.example.com/post", False, False),
        ("https://example.com/", "https://blog.example.com/post", True, True),
        ("https://example.com/", "https://www.blog.example.com/", True, True),
        ("https://example.com/", "https://notexample.com/", True, False),
        ("https://example.com/", "https://example.com.evil.org/", True, False),
        ("https://blog.example.com/", "https://example.com/", True, False),
        ("https://blog.example.com/", "https://www.blog.example.com/x", False, True),
        ("https://xn--fa-hia.de/", "https://faß.de/seite", False, True),
        ("https://example.com/", "not a url", True, False),
    ],
)
def test_site_matching(site_url: str, url: str, subdomains: bool, matches: bool) -> None:
    assert site_rule(site_url, include_subdomains=subdomains).matches(url) is matches


def test_the_first_result_on_the_site_wins_whatever_the_order_given() -> None:
    rule = site_rule("https://example.com/", include_subdomains=False)
    results = _results("https://other.org/", "https://example.com/b", "https://www.example.com/a")[
        ::-1
    ]
    found = first_match(results, rule)
    assert found is not None
    assert (found.position, found.url) == (2, "https://example.com/b")
    assert first_match(_results("https://other.org/"), rule) is None
