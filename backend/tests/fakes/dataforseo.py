"""A local DataForSEO: `POST /v3/serp/google/organic/live/advanced` and
`GET /v3/appendix/user_data`, Basic auth, in DataForSEO's shapes: HTTP 200 with the outcome in
the top-level and the task's `status_code` (20000 ok; 40100 not authorized; 40200 payment
required when `balance` is used up; 40501 invalid field, e.g. a language code it does not
know; 50000 internal error is scripted with `fail`).

`items[keyword]` lists SERP items as (type, url): organic results and the features that sit
among them (featured_snippet, people_also_ask, paid...). `rank_group` counts within a type,
`rank_absolute` across all, as DataForSEO does. Keywords not listed get `default_count`
organic results on other sites.
"""

import base64
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.fakes.provider_server import Call, FakeProviderServer, Reply, filler_urls

COST = 0.002
KNOWN_LANGUAGES = {"en", "de", "fr", "es", "it", "nl", "pt", "ja"}


def envelope(status_code: int, message: str, tasks: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "version": "0.1.20250101",
        "status_code": status_code,
        "status_message": message,
        "time": "0.5 sec.",
        "cost": COST * len(tasks),
        "tasks_count": len(tasks),
        "tasks_error": sum(1 for t in tasks if t["status_code"] != 20000),
        "tasks": tasks,
    }


def task(status_code: int, message: str, data: dict[str, Any], result: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "status_code": status_code,
        "status_message": message,
        "time": "0.4 sec.",
        "cost": COST if status_code == 20000 else 0,
        "result_count": len(result or ()),
        "path": ["v3", "serp", "google", "organic", "live", "advanced"],
        "data": data,
        "result": result,
    }


class FakeDataForSeo(FakeProviderServer):
    def __init__(self, *, login: str = "owner@example.com", password: str = "dfs-pass") -> None:
        super().__init__()
        self.credentials = {(login, password)}
        self.login, self.password = login, password
        self.items: dict[str, list[tuple[str, str]]] = {}
        self.default_count = 100
        self.balance = 100.0

    def _authorized(self, call: Call) -> bool:
        header = call.headers.get("authorization", "")
        if not header.startswith("Basic "):
            return False
        try:
            login, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except ValueError:
            return False
        return (login, password) in self.credentials

    def answer(self, call: Call) -> Reply:
        if not self._authorized(call):
            return Reply(
                200,
                envelope(
                    40100,
                    "You are not authorized to access this resource. Check your credentials.",
                    [],
                ),
            )
        if call.path == "/v3/appendix/user_data":
            return Reply(200, self._user_data())
        if call.path != "/v3/serp/google/organic/live/advanced":
            return Reply(404, envelope(40400, "Not Found.", []))
        if self.balance <= 0:
            return Reply(200, envelope(40200, "Payment Required.", []))
        tasks = call.json()
        data = tasks[0]
        if data.get("language_code") not in KNOWN_LANGUAGES:
            failed = task(40501, "Invalid Field: 'language_code'.", data, None)
            return Reply(200, envelope(20000, "Ok.", [failed]))
        self.balance -= COST
        return Reply(200, envelope(20000, "Ok.", [task(20000, "Ok.", data, [self._result(data)])]))

    def _user_data(self) -> dict[str, Any]:
        result = {
            "login": self.login,
            "timezone": "UTC",
            "rates": {"limits": {"minute": {"serp": 2000}}},
            "money": {"total": 150.0, "balance": round(self.balance, 4), "limits": {}},
        }
        return envelope(20000, "Ok.", [task(20000, "Ok.", {"api": "appendix"}, [result])])

    def _result(self, data: dict[str, Any]) -> dict[str, Any]:
        keyword = str(data.get("keyword", ""))
        depth = int(data.get("depth") or 100)
        listed = self.items.get(keyword)
        if listed is None:
            listed = [("organic", url) for url in filler_urls(keyword, self.default_count)]
        items: list[dict[str, Any]] = []
        groups: dict[str, int] = {}
        organic = 0
        for absolute, (kind, url) in enumerate(listed, 1):
            if kind == "organic":
                organic += 1
                if organic > depth:
                    break
            groups[kind] = groups.get(kind, 0) + 1
            items.append(
                {
                    "type": kind,
                    "rank_group": groups[kind],
                    "rank_absolute": absolute,
                    "position": "left",
                    "domain": url.split("/")[2],
                    "title": f"{kind} {groups[kind]} for {keyword}",
                    "url": url,
                    "breadcrumb": url,
                }
            )
        return {
            "keyword": keyword,
            "type": "organic",
            "se_domain": "google.com",
            "location_code": data.get("location_code"),
            "language_code": data.get("language_code"),
            "check_url": f"https://www.google.com/search?q={keyword}",
            "datetime": "2026-12-06 21:00:00 +00:00",
            "spell": None,
            "item_types": sorted({i["type"] for i in items}),
            "se_results_count": 1000000,
            "items_count": len(items),
            "items": items or None,
        }


@contextmanager
def fake_dataforseo() -> Iterator[FakeDataForSeo]:
    server = FakeDataForSeo()
    server.start()
    try:
        yield server
    finally:
        server.stop()
