"""A local Search Console API on a FakeGoogle, speaking webmasters v3 as Google documents it.

- `GET /webmasters/v3/sites` -> `{"siteEntry": [{"siteUrl", "permissionLevel"}]}` for the
  caller's account (`{}` when it sees none).
- `POST /webmasters/v3/sites/{siteUrl}/searchAnalytics/query` (siteUrl percent-encoded) ->
  `{"rows": [{"keys", "clicks", "impressions", "ctr", "position"}], "responseAggregationType",
  "metadata": {"firstIncompleteDate"}}`; no `rows` key at all when nothing matches; paged by
  `rowLimit` (at most 25,000) and `startRow`; 403 "User does not have sufficient permission
  for site ..." for an account the property does not list.

Data is generated, deterministic and lazy: row `i` of a day is a function of (seed, property,
day, type, i), so a page of a million-row day costs only its own rows, and a test computes
what it expects with `state.rows(...)` / `state.totals(...)`. Country keys are ISO alpha-3
lower case, devices DESKTOP|MOBILE|TABLET. Days on or after `first_incomplete` are fresh
(provisional): their rows differ from the final ones (halved clicks, the last row missing, one
row only fresh data has), as Google's do while a day is incomplete. Totals (dimensions without
query/page) include anonymised traffic the rows do not show.
"""

import datetime as dt
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.fakes.google import Call, FakeGoogle, Reply, google_error

MAX_ROW_LIMIT = 25_000
COUNTRIES = ("usa", "gbr", "deu", "fra")
DEVICES = ("DESKTOP", "MOBILE", "TABLET")
SEARCH_TYPES = ("web", "image", "video", "news", "discover", "googleNews")
ROWS_PER_QUERY = len(COUNTRIES) * len(DEVICES)  # each query: every country and device
WORDS = (
    "seo", "audit", "crawler", "backlinks", "keyword", "ranking", "tool", "free", "best",
    "checker", "site", "speed", "google", "search", "console", "report", "guide", "how",
    "to", "fix",
)  # fmt: skip
ROWS_FULL = ("date", "query", "page", "country", "device")
TOTALS = ("date", "country", "device")


def permission_message(site_url: str) -> str:
    return (
        f"User does not have sufficient permission for site '{site_url}'. See also: "
        "https://support.google.com/webmasters/answer/2451999."
    )


@dataclass
class GscState:
    fake: FakeGoogle
    seed: int = 7
    rows_per_day: int = 36
    today: dt.date = field(default_factory=lambda: dt.datetime.now(dt.UTC).date())
    first_incomplete: dt.date | None = None  # None: every day is final
    metadata_key: str = "firstIncompleteDate"  # or "first_incomplete_date"
    cache_pages: bool = False  # keep encoded pages (benchmarks)
    permissions: dict[tuple[str, str], str] = field(default_factory=dict)
    open_properties: set[str] = field(default_factory=set)  # any account may read them
    day_rows: dict[tuple[str, dt.date], int] = field(default_factory=dict)  # per-day counts
    property_rows: dict[str, int] = field(default_factory=dict)  # per-property counts
    weekday_factor: bool = False  # demo data: fewer impressions at weekends
    query_delay: float = 0.0  # seconds each query takes (slow syncs for kill tests)
    _cache: dict[Any, bytes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- set-up ------------------------------------------------------------------------

    def grant(self, account: str, site_url: str, level: str = "siteOwner") -> None:
        self.permissions[(account, site_url)] = level

    def set_rows(self, site_url: str, day: dt.date, count: int) -> None:
        self.day_rows[(site_url, day)] = count
        self._cache.clear()

    # --- the data ----------------------------------------------------------------------

    def row_count(self, site_url: str, day: dt.date) -> int:
        if day > self.today:
            return 0
        count = self.day_rows.get(
            (site_url, day), self.property_rows.get(site_url, self.rows_per_day)
        )
        return count  # a fresh day: its last row is one only fresh data has

    def is_fresh(self, day: dt.date) -> bool:
        return self.first_incomplete is not None and day >= self.first_incomplete

    def _base(self, site_url: str, day: dt.date, search_type: str) -> int:
        digest = sum(site_url.encode()) * 31 + SEARCH_TYPES.index(search_type) * 1009
        return (self.seed * 1_000_003 + day.toordinal() * 7919 + digest) % 1_000_000_007

    def row(self, site_url: str, day: dt.date, search_type: str, i: int) -> dict[str, Any]:
        """Row `i` of a day (0 <= i < row_count)."""
        fresh = self.is_fresh(day)
        count = self.row_count(site_url, day)
        base = self._base(site_url, day, search_type)
        iso = day.isoformat()
        host = site_url.removeprefix("sc-domain:").split("://")[-1].strip("/") or "example.com"
        if fresh and i == count - 1:
            return self._row(iso, f"fresh {iso}", f"https://{host}/news/{iso}", "usa",
                             "MOBILE", 3, 40, 2.5)  # fmt: skip
        q = i // ROWS_PER_QUERY
        rem = i % ROWS_PER_QUERY
        words = f"{WORDS[q % 20]} {WORDS[(q // 20) % 20]}"
        clicks = (i * 7 + base) % 5
        impressions = clicks + 1 + (i * 13 + base) % 50
        if self.weekday_factor and day.weekday() >= 5:
            impressions = impressions * 2 // 3 + 1
        position = 1 + ((i * 31 + base) % 400) / 10
        if fresh:
            clicks //= 2
        return self._row(
            iso,
            f"{words} {q}",
            f"https://{host}/{WORDS[(q * 7) % 20]}/{(q * 7) % 997}",
            COUNTRIES[rem // len(DEVICES)],
            DEVICES[rem % len(DEVICES)],
            clicks,
            impressions,
            position,
        )

    @staticmethod
    def _row(
        iso: str,
        query: str,
        page: str,
        country: str,
        device: str,
        clicks: int,
        impressions: int,
        position: float,
    ) -> dict[str, Any]:
        return {
            "keys": [iso, query, page, country, device],
            "clicks": clicks,
            "impressions": impressions,
            "ctr": clicks / impressions,
            "position": position,
        }

    def rows(
        self, site_url: str, day: dt.date, search_type: str = "web"
    ) -> Iterator[dict[str, Any]]:
        for i in range(self.row_count(site_url, day)):
            yield self.row(site_url, day, search_type, i)

    def totals(self, site_url: str, day: dt.date, search_type: str = "web") -> list[dict[str, Any]]:
        """The day by country and device, anonymised queries included (more than the rows)."""
        sums: dict[tuple[str, str], list[float]] = {}
        for row in self.rows(site_url, day, search_type):
            key = (row["keys"][3], row["keys"][4])
            total = sums.setdefault(key, [0, 0, 0.0])
            total[0] += row["clicks"]
            total[1] += row["impressions"]
            total[2] += row["position"] * row["impressions"]
        result = []
        for (country, device), (clicks, impressions, weighted) in sorted(sums.items()):
            # Anonymised queries: traffic the rows never show.
            clicks, impressions = int(clicks) + int(clicks) // 10 + 1, int(impressions) * 6 // 5 + 2
            result.append(
                {
                    "keys": [day.isoformat(), country, device],
                    "clicks": clicks,
                    "impressions": impressions,
                    "ctr": clicks / impressions,
                    "position": round(weighted / max(1, impressions), 2),
                }
            )
        return result

    # --- answering ---------------------------------------------------------------------

    def readable(self, account: str | None, site_url: str) -> bool:
        if site_url in self.open_properties:
            return True
        return self.permissions.get((account or "", site_url)) in (
            "siteOwner",
            "siteFullUser",
            "siteRestrictedUser",
        )

    def list_sites(self, call: Call, _match: "re.Match[str]") -> Reply:
        entries = [
            {"siteUrl": site_url, "permissionLevel": level}
            for (account, site_url), level in sorted(self.permissions.items())
            if account == call.account
        ]
        return Reply(200, {"siteEntry": entries} if entries else {})

    def query(self, call: Call, match: "re.Match[str]") -> Reply:
        if self.query_delay:
            time.sleep(self.query_delay)
        site_url = unquote(match.group(1))
        if not self.readable(call.account, site_url):
            message = permission_message(site_url)
            return Reply(403, google_error(403, message, "PERMISSION_DENIED", reason="forbidden"))
        try:
            body = call.json()
            start = dt.date.fromisoformat(body["startDate"])
            end = dt.date.fromisoformat(body["endDate"])
            dimensions = tuple(body.get("dimensions") or ())
            search_type = body.get("type") or body.get("searchType") or "web"
            row_limit = int(body.get("rowLimit", 1000))
            start_row = int(body.get("startRow", 0))
        except (ValueError, KeyError, TypeError) as exc:
            message = f"Invalid request: {exc}"
            return Reply(400, google_error(400, message, "INVALID_ARGUMENT", reason="invalid"))
        if not 1 <= row_limit <= MAX_ROW_LIMIT or search_type not in SEARCH_TYPES:
            message = "Invalid value for rowLimit or type"
            return Reply(400, google_error(400, message, "INVALID_ARGUMENT", reason="invalid"))
        if dimensions not in (ROWS_FULL, TOTALS):
            message = f"the fake answers dimensions {ROWS_FULL} or {TOTALS}, not {dimensions}"
            return Reply(400, google_error(400, message, "INVALID_ARGUMENT", reason="invalid"))
        fresh_too = body.get("dataState") == "all"
        key = (site_url, start, end, dimensions, search_type, row_limit, start_row, fresh_too)
        with self._lock:
            cached = self._cache.get(key) if self.cache_pages else None
        if cached is not None:
            return Reply(200, cached)
        payload = json.dumps(
            self._page(
                site_url, start, end, dimensions, search_type, row_limit, start_row, fresh_too
            ),
            separators=(",", ":"),
        ).encode()
        if self.cache_pages:
            with self._lock:
                self._cache[key] = payload
        return Reply(200, payload)

    def prerender(self, site_url: str, day: dt.date, *, search_type: str = "web") -> int:
        """Encodes every page (rows and totals, as the sync asks for them) of a day ahead of
        the calls, so a benchmark measures its client, not this server; returns the bytes."""
        self.cache_pages = True
        size = 0
        for dimensions in (ROWS_FULL, TOTALS):
            start_row = 0
            while True:
                page = self._page(
                    site_url, day, day, dimensions, search_type, MAX_ROW_LIMIT, start_row, True
                )
                payload = json.dumps(page, separators=(",", ":")).encode()
                key = (site_url, day, day, dimensions, search_type, MAX_ROW_LIMIT, start_row, True)
                self._cache[key] = payload
                size += len(payload)
                if "rows" not in page:
                    break
                start_row += MAX_ROW_LIMIT
        return size

    def _page(
        self,
        site_url: str,
        start: dt.date,
        end: dt.date,
        dimensions: tuple[str, ...],
        search_type: str,
        row_limit: int,
        start_row: int,
        fresh_too: bool,
    ) -> dict[str, Any]:
        days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
        if not fresh_too:
            days = [d for d in days if not self.is_fresh(d)]
        rows: list[dict[str, Any]] = []
        skip, wanted = start_row, row_limit
        for day in days:
            if wanted <= 0:
                break
            if dimensions == TOTALS:
                day_rows = self.totals(site_url, day, search_type)
                count = len(day_rows)
            else:
                count = self.row_count(site_url, day)
            if skip >= count:
                skip -= count
                continue
            stop = min(count, skip + wanted)
            if dimensions == TOTALS:
                rows.extend(day_rows[skip:stop])
            else:
                rows.extend(self.row(site_url, day, search_type, i) for i in range(skip, stop))
            wanted -= stop - skip
            skip = 0
        page: dict[str, Any] = {}
        if rows:
            page["rows"] = rows
        page["responseAggregationType"] = "byPage" if "page" in dimensions else "byProperty"
        if fresh_too and self.first_incomplete is not None and end >= self.first_incomplete:
            page["metadata"] = {self.metadata_key: self.first_incomplete.isoformat()}
        return page


def install_gsc(fake: FakeGoogle, **options: Any) -> GscState:
    """Registers the Search Console routes on `fake`; returns the state tests steer."""
    state = GscState(fake=fake, **options)
    fake.route("GET", r"/webmasters/v3/sites", state.list_sites)
    fake.route("POST", r"/webmasters/v3/sites/([^/]+)/searchAnalytics/query", state.query)
    return state


def seed_demo(state: GscState, site_url: str, *, account: str | None = None) -> None:
    """A small realistic property for the dashboard: 50 queries a day over 16 months, fewer
    impressions at weekends, the last two days still fresh (provisional)."""
    state.property_rows[site_url] = 50 * ROWS_PER_QUERY
    state.weekday_factor = True
    state.first_incomplete = state.today - dt.timedelta(days=1)
    if account is None:
        state.open_properties.add(site_url)
    else:
        state.grant(account, site_url)


def site_from_path(path: str) -> str:
    """The property a query call named (tests check the encoding)."""
    return unquote(urlsplit(path).path.split("/")[4])
