"""A local SerpApi: `GET /search.json` (Google engine, 10 organic results a page, `start`
paging with `serpapi_pagination.next`, positions counted across pages) and `GET /account.json`,
in SerpApi's shapes and errors:
- unknown key: 401 `{"error": "Invalid API key. ..."}`;
- no searches left: 429 `{"error": "Your account has run out of searches."}`;
- a query with no results: 200 `{"error": "Google hasn't returned any results for this query.",
  "search_metadata": {...}}`.
`results[query]` lists the URLs Google ranks (organic order); queries not listed get
`default_count` results on other sites. Searches are counted against `searches_left`.
"""

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.fakes.provider_server import Call, FakeProviderServer, Reply, filler_urls

NO_RESULTS = "Google hasn't returned any results for this query."


class FakeSerpApi(FakeProviderServer):
    def __init__(self, *, api_key: str = "serpapi-test-key-0001") -> None:
        super().__init__()
        self.api_keys = {api_key}
        self.api_key = api_key
        self.results: dict[str, list[str]] = {}
        self.default_count = 100
        self.searches_left = 1_000_000

    def answer(self, call: Call) -> Reply:
        if call.query.get("api_key") not in self.api_keys:
            return Reply(
                401,
                {
                    "error": "Invalid API key. Your API key should be here: "
                    "https://serpapi.com/manage-api-key"
                },
            )
        if call.path == "/account.json":
            return Reply(200, self._account())
        if call.path != "/search.json":
            return Reply(404, {"error": "Not found"})
        if self.searches_left <= 0:
            return Reply(429, {"error": "Your account has run out of searches."})
        self.searches_left -= 1
        return Reply(200, self._search(call.query))

    def _account(self) -> dict[str, Any]:
        return {
            "account_id": "5f0c1e0b0c3f8d0001a2b3c4",
            "api_key": self.api_key,
            "account_email": "owner@example.com",
            "plan_id": "developer",
            "plan_name": "Developer",
            "searches_per_month": 5000,
            "plan_searches_left": self.searches_left,
            "extra_credits": 0,
            "total_searches_left": self.searches_left,
            "this_month_usage": 12,
            "this_hour_searches": 3,
            "last_hour_searches": 0,
            "account_rate_limit_per_hour": 1000,
        }

    def _search(self, query: dict[str, str]) -> dict[str, Any]:
        q = query.get("q", "")
        urls = self.results.get(q, filler_urls(q, self.default_count))
        start = int(query.get("start") or 0)
        metadata = {
            "id": uuid.uuid4().hex[:24],
            "status": "Success",
            "google_url": f"https://www.google.com/search?q={q}&start={start}",
            "total_time_taken": 1.2,
        }
        parameters = {k: v for k, v in query.items() if k != "api_key"}
        if not urls:
            return {
                "search_metadata": metadata,
                "search_parameters": parameters,
                "error": NO_RESULTS,
            }
        page = urls[start : start + 10]
        document: dict[str, Any] = {
            "search_metadata": metadata,
            "search_parameters": parameters,
            "search_information": {"organic_results_state": "Results for exact spelling"},
            "organic_results": [
                {
                    "position": start + index + 1,
                    "title": f"Result {start + index + 1} for {q}",
                    "link": url,
                    "displayed_link": url.split("//", 1)[-1],
                    "snippet": "...",
                }
                for index, url in enumerate(page)
            ],
        }
        if start + 10 < len(urls):
            document["serpapi_pagination"] = {
                "current": start // 10 + 1,
                "next": f"https://serpapi.com/search.json?q={q}&start={start + 10}",
            }
        return document


@contextmanager
def fake_serpapi() -> Iterator[FakeSerpApi]:
    server = FakeSerpApi()
    server.start()
    try:
        yield server
    finally:
        server.stop()
