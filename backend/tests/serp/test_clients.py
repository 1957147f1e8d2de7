"""The provider clients against the fake SerpApi and DataForSEO: paging, the position rules
on their shapes, and how each kind of answer ends a check."""

import httpx
import pytest

from app.serp.budget import RefreshHaltedError
from app.serp.client import (
    DataForSeoClient,
    KeywordCheckError,
    KeywordQuery,
    ProviderAuthError,
    SerpApiClient,
)
from app.serp.positions import site_rule
from tests.fakes.dataforseo import FakeDataForSeo
from tests.fakes.provider_server import Reply, filler_urls
from tests.fakes.serpapi import FakeSerpApi
from tests.serp.conftest import gate

SITE = site_rule("https://example.com/", include_subdomains=False)
SHOES = KeywordQuery(text="running shoes", country="US", language="en", device="desktop")


def _serpapi(server: FakeSerpApi, http: httpx.Client, **options: object) -> SerpApiClient:
    return SerpApiClient(
        api_key=str(options.pop("api_key", server.api_key)),
        http=http,
        gate=options.pop("gate", gate()),  # type: ignore[arg-type]
        base_url=server.url,
        max_retries=int(options.pop("max_retries", 2)),  # type: ignore[call-overload]
        retry_base=0.01,
    )


def _dataforseo(server: FakeDataForSeo, http: httpx.Client, **options: object) -> DataForSeoClient:
    return DataForSeoClient(
        login=str(options.pop("login", server.login)),
        password=str(options.pop("password", server.password)),
        http=http,
        gate=gate(),
        base_url=server.url,
        max_retries=2,
        retry_base=0.01,
    )


def _ranked_at(position: int, total: int = 100) -> list[str]:
    urls = filler_urls("q", total)
    urls[position - 1] = "https://www.example.com/shoes"
    return urls


# --- SerpApi -----------------------------------------------------------------------------------


def test_serpapi_pages_ten_at_a_time_and_stops_once_found(
    serpapi: FakeSerpApi, http: httpx.Client
) -> None:
    serpapi.results["running shoes"] = _ranked_at(23)
    check = _serpapi(serpapi, http).check(SHOES, SITE, 100)
    assert (check.position, check.url) == (23, "https://www.example.com/shoes")
    assert check.requests == 3
    calls = serpapi.calls("/search.json")
    assert [c.query["start"] for c in calls] == ["0", "10", "20"]
    first = calls[0].query
    assert (first["engine"], first["q"], first["gl"], first["hl"], first["device"]) == (
        "google",
        "running shoes",
        "us",
        "en",
        "desktop",
    )
    assert "location" not in first
    assert [r.position for r in check.top] == list(range(1, 11))


def test_serpapi_not_in_the_top_n_is_a_completed_check(
    serpapi: FakeSerpApi, http: httpx.Client
) -> None:
    check = _serpapi(serpapi, http).check(SHOES, SITE, 30)
    assert (check.position, check.url, check.requests) == (None, None, 3)
    assert len(check.top) == 10
    # Fewer results than the depth: paging stops where Google's results end.
    serpapi.reset()
    serpapi.results["running shoes"] = filler_urls("q", 15)
    assert _serpapi(serpapi, http).check(SHOES, SITE, 100).requests == 2


def test_serpapi_no_results_is_not_a_failure(serpapi: FakeSerpApi, http: httpx.Client) -> None:
    serpapi.results["running shoes"] = []
    check = _serpapi(serpapi, http).check(
        KeywordQuery("running shoes", "DE", "de", "mobile", location="Berlin,Germany"),
        SITE,
        100,
    )
    assert (check.position, check.top, check.requests) == (None, (), 1)
    query = serpapi.calls()[0].query
    assert (query["location"], query["gl"], query["device"]) == ("Berlin,Germany", "de", "mobile")


def test_serpapi_bad_key_fails_at_once(serpapi: FakeSerpApi, http: httpx.Client) -> None:
    with pytest.raises(ProviderAuthError, match="Invalid API key"):
        _serpapi(serpapi, http, api_key="wrong-key-123").check(SHOES, SITE, 100)
    assert len(serpapi.calls()) == 1


def test_serpapi_out_of_searches_halts_the_refresh(
    serpapi: FakeSerpApi, http: httpx.Client
) -> None:
    serpapi.searches_left = 1
    with pytest.raises(RefreshHaltedError, match="run out of searches"):
        _serpapi(serpapi, http).check(SHOES, SITE, 100)
    assert len(serpapi.calls()) == 2


def test_serpapi_5xx_is_retried_and_bounded(serpapi: FakeSerpApi, http: httpx.Client) -> None:
    serpapi.results["running shoes"] = _ranked_at(3)
    serpapi.fail("/search.json", Reply(503, {"error": "Service unavailable"}), times=2)
    assert _serpapi(serpapi, http).check(SHOES, SITE, 100).position == 3
    assert len(serpapi.calls()) == 3
    serpapi.reset()
    serpapi.fail("/search.json", Reply(500, b"<html>oops</html>"), times=10)
    with pytest.raises(KeywordCheckError, match="HTTP 500") as failed:
        _serpapi(serpapi, http).check(SHOES, SITE, 100)
    assert failed.value.unavailable
    assert failed.value.requests == 3 == len(serpapi.calls())


def test_serpapi_malformed_json_and_timeouts_fail_the_keyword_only(
    serpapi: FakeSerpApi, http: httpx.Client
) -> None:
    serpapi.fail("/search.json", Reply(200, b'{"organic_results": [{"pos'), times=3)
    with pytest.raises(KeywordCheckError, match="malformed JSON"):
        _serpapi(serpapi, http).check(SHOES, SITE, 100)
    serpapi.reset()
    serpapi.fail("/search.json", Reply(200, {}, delay=1.0), times=3)
    with httpx.Client(timeout=0.2) as impatient, pytest.raises(KeywordCheckError, match="Timeout"):
        _serpapi(serpapi, impatient).check(SHOES, SITE, 100)


def test_serpapi_other_errors_fail_the_keyword(serpapi: FakeSerpApi, http: httpx.Client) -> None:
    serpapi.fail("/search.json", Reply(400, {"error": "Unsupported `xx` location."}))
    with pytest.raises(KeywordCheckError, match="Unsupported") as failed:
        _serpapi(serpapi, http).check(SHOES, SITE, 100)
    assert not failed.value.unavailable


def test_the_daily_cap_counts_each_paged_call(serpapi: FakeSerpApi, http: httpx.Client) -> None:
    client = _serpapi(serpapi, http, gate=gate(cap=2))
    with pytest.raises(RefreshHaltedError, match="daily cap of 2"):
        client.check(SHOES, SITE, 100)
    assert len(serpapi.calls()) == 2


def test_serpapi_account_shows_the_searches_left(serpapi: FakeSerpApi, http: httpx.Client) -> None:
    serpapi.searches_left = 4321
    status = _serpapi(serpapi, http).account()
    assert status.ok
    assert "4321 searches left" in status.detail
    refused = _serpapi(serpapi, http, api_key="wrong-key-123").account()
    assert not refused.ok
    assert "Invalid API key" in refused.detail


# --- DataForSEO --------------------------------------------------------------------------------


def test_dataforseo_ranks_by_rank_group_among_organic_items(
    dataforseo: FakeDataForSeo, http: httpx.Client
) -> None:
    dataforseo.items["running shoes"] = [
        ("paid", "https://example.com/ad"),
        ("featured_snippet", "https://example.com/snippet"),
        ("organic", "https://other.org/1"),
        ("people_also_ask", "https://example.com/faq"),
        ("organic", "https://www.example.com/shoes"),
    ]
    check = _dataforseo(dataforseo, http).check(SHOES, SITE, 100)
    assert (check.position, check.url, check.requests) == (2, "https://www.example.com/shoes", 1)
    assert [r.url for r in check.top] == ["https://other.org/1", "https://www.example.com/shoes"]
    call = dataforseo.calls()[0]
    assert call.json() == [
        {
            "keyword": "running shoes",
            "language_code": "en",
            "device": "desktop",
            "depth": 100,
            "location_code": 2840,
        }
    ]
    assert call.headers["authorization"].startswith("Basic ")


def test_dataforseo_location_depth_and_no_results(
    dataforseo: FakeDataForSeo, http: httpx.Client
) -> None:
    dataforseo.items["running shoes"] = []
    query = KeywordQuery(
        "running shoes", "GB", "en", "mobile", location="London,England,United Kingdom"
    )
    check = _dataforseo(dataforseo, http).check(query, SITE, 500)
    assert (check.position, check.top) == (None, ())
    sent = dataforseo.calls()[0].json()[0]
    assert (sent["location_name"], sent["depth"], sent["device"]) == (
        "London,England,United Kingdom",
        200,
        "mobile",
    )
    assert "location_code" not in sent


def test_dataforseo_auth_balance_and_field_errors(
    dataforseo: FakeDataForSeo, http: httpx.Client
) -> None:
    with pytest.raises(ProviderAuthError, match="40100"):
        _dataforseo(dataforseo, http, password="wrong").check(SHOES, SITE, 100)
    dataforseo.fail("/live/", Reply(401, {"status_code": 40100, "status_message": "no"}))
    with pytest.raises(ProviderAuthError):
        _dataforseo(dataforseo, http).check(SHOES, SITE, 100)
    dataforseo.balance = 0
    with pytest.raises(RefreshHaltedError, match="40200"):
        _dataforseo(dataforseo, http).check(SHOES, SITE, 100)
    dataforseo.fail("/live/", Reply(402, {"status_code": 40200, "status_message": "Payment"}))
    with pytest.raises(RefreshHaltedError, match="402"):
        _dataforseo(dataforseo, http).check(SHOES, SITE, 100)
    dataforseo.balance = 10
    dataforseo.reset()
    with pytest.raises(KeywordCheckError, match="40501") as invalid:
        _dataforseo(dataforseo, http).check(KeywordQuery("x", "US", "zu", "desktop"), SITE, 100)
    assert not invalid.value.unavailable
    assert len(dataforseo.calls()) == 1  # a refused field is not asked again


def test_dataforseo_retries_engine_and_server_errors(
    dataforseo: FakeDataForSeo, http: httpx.Client
) -> None:
    dataforseo.items["running shoes"] = [("organic", "https://example.com/")]
    dataforseo.fail(
        "/live/", Reply(200, {"status_code": 50000, "status_message": "Internal Error."})
    )
    dataforseo.fail(
        "/live/",
        Reply(
            200,
            {
                "status_code": 20000,
                "status_message": "Ok.",
                "tasks": [
                    {"status_code": 40101, "status_message": "Engine error.", "result": None}
                ],
            },
        ),
    )
    dataforseo.fail("/live/", Reply(200, b"{not json"))
    with pytest.raises(KeywordCheckError, match="malformed"):
        _dataforseo(dataforseo, http).check(SHOES, SITE, 100)
    assert len(dataforseo.calls()) == 3  # max_retries=2: three tries
    dataforseo.reset()
    dataforseo.fail("/live/", Reply(502, b"Bad Gateway"))
    check = _dataforseo(dataforseo, http).check(SHOES, SITE, 100)
    assert (check.position, check.requests) == (1, 2)


def test_dataforseo_account_shows_the_balance(
    dataforseo: FakeDataForSeo, http: httpx.Client
) -> None:
    dataforseo.balance = 42.5
    status = _dataforseo(dataforseo, http).account()
    assert status.ok
    assert "$42.50" in status.detail
    assert not _dataforseo(dataforseo, http, password="nope").account().ok
