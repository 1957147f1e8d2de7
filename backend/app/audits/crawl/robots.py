"""robots.txt for our user agent (RFC 9309), and for the search engine the audit is for.

Parsing is Protego's (the parser Scrapy uses): it applies the longest matching rule, lets
`Allow` win a tie, and understands the `*` and `$` wildcards, where the standard library's
`urllib.robotparser` takes the first match and ignores wildcards.
"""

from dataclasses import dataclass, field

from protego import Protego

# RFC 9309 asks crawlers to parse at least 500 KiB; more than that is ignored.
MAX_ROBOTS_BYTES = 512 * 1024
# A site may ask for any delay; a crawl still has to finish.
MAX_CRAWL_DELAY_SECONDS = 10.0


@dataclass(slots=True)
class RobotsRules:
    """What robots.txt allows our user agent (and the audit's search engine) to do."""

    found: bool
    user_agent: str
    sitemaps: list[str] = field(default_factory=list)
    crawl_delay: float | None = None
    disallow_all: bool = False
    # The answer's HTTP status (None: no answer at all).
    status: int | None = None
    _parser: Protego | None = None

    def allows(self, url: str) -> bool:
        return self.allows_agent(url, self.user_agent)

    def allows_agent(self, url: str, agent: str) -> bool:
        """Whether `agent` (e.g. "Googlebot") may crawl `url` under these rules."""
        if self.disallow_all:
            return False
        if self._parser is None:
            return True
        return bool(self._parser.can_fetch(url, agent))


def parse_robots(body: bytes, *, user_agent: str, status: int | None = 200) -> RobotsRules:
    text = body[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
    parser = Protego.parse(text)
    delay = parser.crawl_delay(user_agent)
    return RobotsRules(
        found=True,
        user_agent=user_agent,
        sitemaps=[str(url) for url in parser.sitemaps],
        crawl_delay=None if delay is None else min(float(delay), MAX_CRAWL_DELAY_SECONDS),
        status=status,
        _parser=parser,
    )


def robots_for_status(status: int | None, body: bytes, *, user_agent: str) -> RobotsRules:
    """Rules from a robots.txt response. RFC 9309: a 4xx means no rules; a 5xx or an
    unreachable server means the whole site is disallowed for now."""
    if status is None or status >= 500:
        return RobotsRules(found=False, user_agent=user_agent, disallow_all=True, status=status)
    if 200 <= status < 300:
        return parse_robots(body, user_agent=user_agent, status=status)
    return RobotsRules(found=False, user_agent=user_agent, status=status)
