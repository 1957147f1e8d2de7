"""The two rank providers behind one interface: `SerpProvider.check(keyword, site, depth)`.

SerpApi (`GET {SERPAPI_BASE_URL}/search.json`): Google ignores `num` above 10, so depth N
costs up to N/10 paged calls (`start=0,10,...`), and paging stops as soon as the site is
found. "No results" is HTTP 200 with `"error": "Google hasn't returned any results for this
query."` (a completed check: not in the top N). Errors are `{"error": "..."}`: 401 (bad key:
the refresh fails at once), 429 (out of searches or over the hourly limit: the refresh stops
for today and says so), 5xx (retried).

DataForSEO (`POST {DATAFORSEO_BASE_URL}/v3/serp/google/organic/live/advanced`, Basic auth, a
JSON array of one task): HTTP 200 even for errors, so the top-level and the task's
`status_code` decide: 20000 ok; 40100 auth (fails the refresh); 40200/40210 and HTTP 402
balance (stops it for today); 40101, 40202 and 50000-range retried; 40501 and other task
errors fail that keyword only. The rank is `rank_group` of `organic` items.

How a check ends:
- a `SerpCheck` (ranked, or not in the top N);
- `KeywordCheckError`: this keyword's check failed (the refresh goes on; no position);
- `RefreshHaltedError` (budget.py): stop the refresh for today;
- `ProviderAuthError`: the credential is refused; the refresh fails.
Every request, retries included, first passes the gate (shared rate limit, daily cap).
"""

import json
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Protocol, TypeVar

import httpx

from app.core.config import settings
from app.jobs.errors import PermanentJobError, parse_retry_after
from app.serp import codes
from app.serp.budget import RefreshHaltedError, RequestGate
from app.serp.positions import OrganicResult, SiteRule, first_match

SERPAPI = "serpapi"
DATAFORSEO = "dataforseo"
NO_RESULTS = "hasn't returned any results"
TOP_KEPT = 10
SERPAPI_PAGE = 10
DATAFORSEO_MAX_DEPTH = 200
MAX_ANSWER_BYTES = 16 * 1024 * 1024

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class KeywordQuery:
    text: str
    country: str  # ISO 3166-1 alpha-2, upper case
    language: str  # ISO 639-1
    device: str  # desktop | mobile
    location: str | None = None


@dataclass(frozen=True, slots=True)
class SerpCheck:
    """A completed check: `position`/`url` of the site's first organic result (None when
    not within `depth`), the first ten organic results, and the requests it cost."""

    position: int | None
    url: str | None
    top: tuple[OrganicResult, ...]
    depth: int
    requests: int

    @property
    def ranked(self) -> bool:
        return self.position is not None


@dataclass(frozen=True, slots=True)
class AccountStatus:
    ok: bool
    detail: str


class KeywordCheckError(Exception):
    """This keyword's check did not complete; no position is recorded."""

    def __init__(self, message: str, *, requests: int = 0, unavailable: bool = False) -> None:
        super().__init__(message)
        self.requests = requests
        # The provider could not be reached or kept failing (as opposed to refusing this
        # keyword): many of these in a row mean the provider is down.
        self.unavailable = unavailable


class ProviderAuthError(PermanentJobError):
    def __init__(self, message: str) -> None:
        super().__init__(message, category="auth_failed")


class SerpProvider(Protocol):
    name: str

    def check(self, keyword: KeywordQuery, site: SiteRule, depth: int) -> SerpCheck: ...

    def account(self) -> AccountStatus: ...


class _RetryableError(Exception):
    """An answer worth asking again (5xx, timeouts, malformed JSON, engine errors)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(slots=True)
class _Tally:
    requests: int = 0


def _backoff(retry: int, base: float) -> float:
    ceiling = min(settings.PROVIDER_RETRY_MAX_SECONDS, base * 2**retry)
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret


def _json(response: httpx.Response, provider: str) -> Any:
    if len(response.content) > MAX_ANSWER_BYTES:
        raise KeywordCheckError(f"{provider} answered more than 16 MB")
    try:
        return json.loads(response.content)
    except ValueError as exc:
        raise _RetryableError(
            f"{provider} answered HTTP {response.status_code} with malformed JSON "
            f"({len(response.content)} bytes)"
        ) from exc


def _build_check(
    results: list[OrganicResult], site: SiteRule, depth: int, requests: int
) -> SerpCheck:
    within = [r for r in results if 0 < r.position <= depth]
    found = first_match(within, site)
    top = tuple(sorted(within, key=lambda r: r.position)[:TOP_KEPT])
    return SerpCheck(
        position=found.position if found else None,
        url=found.url if found else None,
        top=top,
        depth=depth,
        requests=requests,
    )


@dataclass(slots=True)
class _Caller:
    """Sends one provider request with the gate, retries and their bounds."""

    provider: str
    http: httpx.Client
    gate: RequestGate | None
    max_retries: int = field(default_factory=lambda: settings.PROVIDER_MAX_RETRIES)
    retry_base: float = 1.0
    sleep: Callable[[float], None] = time.sleep

    def call(
        self,
        tally: _Tally,
        send: Callable[[], httpx.Response],
        interpret: Callable[[httpx.Response], T],
    ) -> T:
        retry = 0
        while True:
            if self.gate is not None:
                self.gate.acquire()
            tally.requests += 1
            try:
                return interpret(send())
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                problem = _RetryableError(f"{self.provider}: {type(exc).__name__}: {exc}")
            except _RetryableError as exc:
                problem = exc
            except KeywordCheckError as exc:
                exc.requests = tally.requests
                raise
            if retry >= self.max_retries:
                raise KeywordCheckError(
                    f"{problem} (after {retry + 1} tries)",
                    requests=tally.requests,
                    unavailable=True,
                ) from problem
            wait = problem.retry_after if problem.retry_after is not None else None
            wait = _backoff(retry, self.retry_base) if wait is None else wait
            if wait > settings.PROVIDER_RETRY_MAX_SECONDS:
                raise KeywordCheckError(
                    f"{problem} (asked to wait {wait:.0f} s)",
                    requests=tally.requests,
                    unavailable=True,
                )
            retry += 1
            self.sleep(wait)


# --- SerpApi ---------------------------------------------------------------------------------


def _serpapi_error(document: Any) -> str:
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return str(document["error"])[:300]
    return ""


class SerpApiClient:
    name = SERPAPI

    def __init__(
        self,
        *,
        api_key: str,
        http: httpx.Client,
        gate: RequestGate | None = None,
        base_url: str | None = None,
        max_retries: int | None = None,
        retry_base: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_key = api_key
        self.http = http
        self.base_url = (base_url or settings.SERPAPI_BASE_URL).rstrip("/")
        self.caller = _Caller(
            provider="SerpApi",
            http=http,
            gate=gate,
            max_retries=settings.PROVIDER_MAX_RETRIES if max_retries is None else max_retries,
            retry_base=retry_base,
            sleep=sleep,
        )

    def check(self, keyword: KeywordQuery, site: SiteRule, depth: int) -> SerpCheck:
        tally = _Tally()
        results: list[OrganicResult] = []
        for start in range(0, depth, SERPAPI_PAGE):
            params = {
                "engine": "google",
                "q": keyword.text,
                "gl": keyword.country.lower(),
                "hl": keyword.language,
                "device": keyword.device,
                "start": str(start),
                "api_key": self.api_key,
            }
            if keyword.location:
                params["location"] = keyword.location
            page, more = self.caller.call(
                tally, partial(self._get_page, params), partial(self._page, start=start)
            )
            results.extend(page)
            if first_match(page, site) is not None or not more or not page:
                break
        return _build_check(results, site, depth, tally.requests)

    def _get_page(self, params: dict[str, str]) -> httpx.Response:
        return self.http.get(f"{self.base_url}/search.json", params=params)

    def _page(self, response: httpx.Response, *, start: int) -> tuple[list[OrganicResult], bool]:
        status = response.status_code
        if status >= 500:
            raise _RetryableError(
                f"SerpApi answered HTTP {status}",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        document = _json(response, "SerpApi")
        error = _serpapi_error(document)
        if status == 401 or status == 403:
            raise ProviderAuthError(
                f"SerpApi refused the API key (HTTP {status}: {error or 'no detail'}); "
                "check it in the project's rank-tracking connection"
            )
        if status == 429:
            raise RefreshHaltedError(
                f"SerpApi: {error or 'too many requests'} (out of searches, or over the "
                "plan's hourly limit)"
            )
        if status != 200:
            raise KeywordCheckError(f"SerpApi answered HTTP {status}: {error or 'no detail'}")
        if error:
            if NO_RESULTS in error:
                return [], False
            raise KeywordCheckError(f"SerpApi: {error}")
        if not isinstance(document, dict):
            raise _RetryableError("SerpApi answered JSON that is not an object")
        page: list[OrganicResult] = []
        for index, item in enumerate(document.get("organic_results") or ()):
            if not isinstance(item, dict) or not isinstance(item.get("link"), str):
                continue
            position = item.get("position")
            page.append(
                OrganicResult(
                    position=position
                    if isinstance(position, int) and position > 0
                    else start + index + 1,
                    url=item["link"],
                    title=str(item.get("title") or "")[:500],
                )
            )
        pagination = document.get("serpapi_pagination") or document.get("pagination") or {}
        more = isinstance(pagination, dict) and bool(pagination.get("next"))
        return page, more

    def account(self) -> AccountStatus:
        try:
            response = self.http.get(
                f"{self.base_url}/account.json", params={"api_key": self.api_key}
            )
        except httpx.HTTPError as exc:
            return AccountStatus(False, f"SerpApi could not be reached: {type(exc).__name__}")
        try:
            document = json.loads(response.content)
        except ValueError:
            document = None
        error = _serpapi_error(document)
        if response.status_code in (401, 403):
            return AccountStatus(False, f"SerpApi refused the API key: {error or 'invalid key'}")
        if response.status_code != 200 or not isinstance(document, dict) or error:
            detail = error or f"HTTP {response.status_code}"
            return AccountStatus(False, f"SerpApi's account check failed: {detail}")
        left = document.get("total_searches_left", document.get("plan_searches_left"))
        plan = document.get("plan_name") or document.get("plan_id") or "unknown plan"
        if isinstance(left, int) and left <= 0:
            return AccountStatus(False, f"SerpApi key works, but no searches are left ({plan})")
        return AccountStatus(True, f"SerpApi key works: {left} searches left ({plan})")


# --- DataForSEO ------------------------------------------------------------------------------

DFS_OK = 20000
DFS_AUTH = frozenset({40100, 40104})
DFS_BALANCE = frozenset({40200, 40210})
DFS_RETRY = frozenset({40101, 40202, 40203})


def _dfs_status(part: Mapping[str, Any]) -> tuple[int, str]:
    code = part.get("status_code")
    return (code if isinstance(code, int) else 0), str(part.get("status_message") or "")[:300]


class DataForSeoClient:
    name = DATAFORSEO

    def __init__(
        self,
        *,
        login: str,
        password: str,
        http: httpx.Client,
        gate: RequestGate | None = None,
        base_url: str | None = None,
        max_retries: int | None = None,
        retry_base: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.auth = httpx.BasicAuth(login, password)
        self.login = login
        self.http = http
        self.base_url = (base_url or settings.DATAFORSEO_BASE_URL).rstrip("/")
        self.caller = _Caller(
            provider="DataForSEO",
            http=http,
            gate=gate,
            max_retries=settings.PROVIDER_MAX_RETRIES if max_retries is None else max_retries,
            retry_base=retry_base,
            sleep=sleep,
        )

    def check(self, keyword: KeywordQuery, site: SiteRule, depth: int) -> SerpCheck:
        depth = min(depth, DATAFORSEO_MAX_DEPTH)
        task: dict[str, Any] = {
            "keyword": keyword.text,
            "language_code": keyword.language,
            "device": keyword.device,
            "depth": depth,
        }
        if keyword.location:
            task["location_name"] = keyword.location
        else:
            task["location_code"] = codes.dataforseo_location_code(keyword.country)
        tally = _Tally()
        results = self.caller.call(
            tally,
            lambda: self.http.post(
                f"{self.base_url}/v3/serp/google/organic/live/advanced",
                json=[task],
                auth=self.auth,
            ),
            self._results,
        )
        return _build_check(results, site, depth, tally.requests)

    def _raise_for(self, code: int, message: str, where: str) -> None:
        if code == DFS_OK:
            return
        text = f"DataForSEO {where} status {code}: {message or 'no message'}"
        if code in DFS_AUTH:
            raise ProviderAuthError(
                f"{text}; check the login and API password of the rank-tracking connection"
            )
        if code in DFS_BALANCE:
            raise RefreshHaltedError(f"{text} (the account's balance is used up)")
        if code in DFS_RETRY or 50000 <= code < 60000:
            raise _RetryableError(text)
        raise KeywordCheckError(text)

    def _results(self, response: httpx.Response) -> list[OrganicResult]:
        status = response.status_code
        if status >= 500 or status == 429:
            raise _RetryableError(
                f"DataForSEO answered HTTP {status}",
                retry_after=parse_retry_after(response.headers.get("retry-after")),
            )
        if status == 401:
            raise ProviderAuthError("DataForSEO refused the login and API password (HTTP 401)")
        if status == 402:
            raise RefreshHaltedError("DataForSEO: payment required (HTTP 402, balance used up)")
        document = _json(response, "DataForSEO")
        if not isinstance(document, dict):
            raise _RetryableError("DataForSEO answered JSON that is not an object")
        self._raise_for(*_dfs_status(document), "answered")
        if status != 200:
            raise KeywordCheckError(f"DataForSEO answered HTTP {status}")
        tasks = document.get("tasks")
        if not isinstance(tasks, list) or not tasks or not isinstance(tasks[0], dict):
            raise _RetryableError("DataForSEO answered without its task")
        self._raise_for(*_dfs_status(tasks[0]), "task")
        found: list[OrganicResult] = []
        for result in tasks[0].get("result") or ():
            if not isinstance(result, dict):
                continue
            for item in result.get("items") or ():
                # Other item types (featured snippets, people also ask, ads) share
                # rank_absolute; rank_group counts organic results among themselves.
                if not isinstance(item, dict) or item.get("type") != "organic":
                    continue
                rank, url = item.get("rank_group"), item.get("url")
                if isinstance(rank, int) and isinstance(url, str):
                    found.append(OrganicResult(rank, url, str(item.get("title") or "")[:500]))
        return found

    def account(self) -> AccountStatus:
        try:
            response = self.http.get(f"{self.base_url}/v3/appendix/user_data", auth=self.auth)
        except httpx.HTTPError as exc:
            return AccountStatus(False, f"DataForSEO could not be reached: {type(exc).__name__}")
        if response.status_code == 401:
            return AccountStatus(False, "DataForSEO refused the login and API password")
        try:
            document = json.loads(response.content)
            code, message = _dfs_status(document)
        except (ValueError, AttributeError):
            return AccountStatus(
                False, f"DataForSEO's account check failed (HTTP {response.status_code})"
            )
        if code in DFS_AUTH:
            return AccountStatus(False, "DataForSEO refused the login and API password")
        try:
            task = document["tasks"][0]
            task_code, task_message = _dfs_status(task)
        except (KeyError, IndexError, TypeError, AttributeError):
            return AccountStatus(False, f"DataForSEO's account check failed: {message}")
        if task_code in DFS_AUTH:
            return AccountStatus(False, "DataForSEO refused the login and API password")
        if code != DFS_OK or task_code != DFS_OK:
            return AccountStatus(
                False, f"DataForSEO's account check failed: {task_message or message}"
            )
        try:
            money = task["result"][0]["money"]
            balance = float(money["balance"])
        except (KeyError, IndexError, TypeError, ValueError):
            return AccountStatus(True, "DataForSEO login works (balance not shown)")
        if balance <= 0:
            return AccountStatus(False, "DataForSEO login works, but the balance is $0.00")
        return AccountStatus(True, f"DataForSEO login works: balance ${balance:,.2f}")
