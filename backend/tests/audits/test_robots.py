from app.audits.crawl.robots import parse_robots, robots_for_status

AGENT = "SEOPlatformBot/0.1 (+https://github.com/seo-platform)"

ROBOTS = b"""
User-agent: *
Disallow: /

User-agent: SEOPlatformBot
Disallow: /private
Allow: /private/open
Disallow: /*.pdf$
Allow: /shop
Disallow: /shop/cart
Crawl-delay: 1.5

Sitemap: https://example.com/sitemap-a.xml
Sitemap: https://example.com/sitemap-b.xml.gz
"""


def test_our_group_applies_with_longest_match_precedence() -> None:
    rules = parse_robots(ROBOTS, user_agent=AGENT)
    site = "https://example.com"
    assert rules.allows(f"{site}/")  # our group, not the catch-all that disallows /
    assert not rules.allows(f"{site}/private/x")
    assert rules.allows(f"{site}/private/open/x")  # the longer Allow wins
    assert rules.allows(f"{site}/shop/item")
    assert not rules.allows(f"{site}/shop/cart/1")  # the longer Disallow wins
    assert not rules.allows(f"{site}/doc/a.pdf")
    assert rules.allows(f"{site}/doc/a.pdf?download=1")  # `$` anchors the end


def test_other_agents_fall_to_the_catch_all_group() -> None:
    rules = parse_robots(ROBOTS, user_agent="OtherBot/1.0")
    assert not rules.allows("https://example.com/")


def test_crawl_delay_and_sitemaps() -> None:
    rules = parse_robots(ROBOTS, user_agent=AGENT)
    assert rules.crawl_delay == 1.5
    assert rules.sitemaps == [
        "https://example.com/sitemap-a.xml",
        "https://example.com/sitemap-b.xml.gz",
    ]
    huge = parse_robots(b"User-agent: *\nCrawl-delay: 3600\n", user_agent=AGENT)
    assert huge.crawl_delay == 10.0


def test_status_codes_follow_rfc_9309() -> None:
    assert robots_for_status(404, b"", user_agent=AGENT).allows("https://example.com/x")
    unreachable = robots_for_status(503, b"", user_agent=AGENT)
    assert not unreachable.allows("https://example.com/x")
    assert not robots_for_status(None, b"", user_agent=AGENT).allows("https://example.com/")
