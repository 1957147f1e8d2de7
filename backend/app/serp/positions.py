"""What a position means: the rank of the first organic result on the project's site.

- The site is the project's host, `www.` ignored on both sides (`www.example.com` and
  `example.com` are one site); other subdomains (`blog.example.com`) count only when the
  project includes subdomains.
- Hosts are compared in one spelling (lower case, IDNA A-labels: app.core.hosts), so a
  result URL written with Unicode or upper case matches the project's.
- Only organic results rank: the providers' clients hand over organic results only, with
  the organic rank (SerpApi's `position`, DataForSEO's `rank_group` of `organic` items,
  never `rank_absolute`, which counts ads and features).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from app.core.hosts import normalize_host


@dataclass(frozen=True, slots=True)
class OrganicResult:
    position: int
    url: str
    title: str


@dataclass(frozen=True, slots=True)
class SiteRule:
    host: str  # without `www.`
    include_subdomains: bool

    def matches(self, url: str) -> bool:
        host = result_host(url)
        if host is None:
            return False
        return host == self.host or (self.include_subdomains and host.endswith(f".{self.host}"))


def _without_www(host: str) -> str:
    return host[4:] if host.startswith("www.") and host.count(".") >= 2 else host


def result_host(url: str) -> str | None:
    try:
        raw = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    host = normalize_host(raw) if raw else None
    return _without_www(host) if host else None


def site_rule(site_url: str, *, include_subdomains: bool) -> SiteRule:
    host = result_host(site_url)
    if host is None:
        raise ValueError(f"the project's site_url {site_url!r} has no host")
    return SiteRule(host=host, include_subdomains=include_subdomains)


def first_match(results: Sequence[OrganicResult], rule: SiteRule) -> OrganicResult | None:
    """The best-ranked result on the site, or None."""
    for result in sorted(results, key=lambda r: r.position):
        if rule.matches(result.url):
            return result
    return None
