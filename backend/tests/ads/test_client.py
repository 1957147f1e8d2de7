"""The Google Ads REST client against the fake: the request it sends, how it reads answers
(int64 strings, left-out fields, batches) and how it treats Google's errors."""

import time
from datetime import date

import httpx
import pytest
import redis

from app.ads.client import (
    NOT_APPROVED_MESSAGE,
    AdsApiError,
    campaign_query,
    developer_token_bucket,
    parse_row,
)
from app.jobs.errors import PermanentJobError, TransientJobError
from tests.ads.conftest import (
    ACCOUNT,
    CUSTOMER,
    DEVELOPER_TOKEN,
    MANAGER,
    TEST_ONLY_TOKEN,
    Waits,
    ads_client,
)
from tests.fakes.google import FakeGoogle, Reply, google_error
from tests.fakes.google_ads import AdsState, FakeCampaign

NOV_1, NOV_3 = date(2026, 11, 1), date(2026, 11, 3)


def _rows(client_batches: object) -> list[object]:
    return [row for batch in client_batches for row in batch]  # type: ignore[attr-defined]


def test_the_request_names_the_version_the_headers_and_the_query(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    ads.add_customer("5555555555", campaigns=[FakeCampaign(1, "Client")], manager=MANAGER)
    ads.grant(ACCOUNT, MANAGER)
    client = ads_client(credential, http, login_customer_id=MANAGER)
    list(client.campaign_days("5555555555", NOV_1, NOV_3))

    (call,) = fake.calls("googleAds:searchStream")
    assert call.method == "POST"
    assert call.path == "/v22/customers/5555555555/googleAds:searchStream"
    assert call.headers["developer-token"] == DEVELOPER_TOKEN
    assert call.headers["login-customer-id"] == MANAGER
    assert call.headers["authorization"].startswith("Bearer ya29.")
    assert call.headers["content-type"] == "application/json"
    assert call.json() == {
        "query": "SELECT segments.date, campaign.id, campaign.name, campaign.status, "
        "metrics.impressions, metrics.clicks, metrics.cost_micros, metrics.conversions, "
        "metrics.conversions_value, customer.currency_code FROM campaign "
        "WHERE segments.date BETWEEN '2026-11-01' AND '2026-11-03'"
    }
    assert campaign_query(NOV_1, NOV_3) == call.json()["query"]


def test_no_login_customer_id_header_without_a_manager(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    list(ads_client(credential, http).campaign_days(CUSTOMER, NOV_1, NOV_1))
    (call,) = fake.calls("googleAds:searchStream")
    assert "login-customer-id" not in call.headers


def test_the_api_version_is_a_setting(
    fake: FakeGoogle,
    ads: AdsState,
    credential: dict[str, str],
    http: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from app.core.config import settings

    monkeypatch.setattr(settings, "GOOGLE_ADS_API_VERSION", "v23")
    list(ads_client(credential, http).campaign_days(CUSTOMER, NOV_1, NOV_1))
    assert fake.calls("googleAds")[0].path.startswith("/v23/customers/")


def test_int64_strings_and_left_out_fields_are_read_as_numbers_and_zeros() -> None:
    full = parse_row(
        {
            "campaign": {
                "resourceName": "customers/1/campaigns/9007199254740993",
                "id": "9007199254740993",
                "name": "Big",
                "status": "ENABLED",
            },
            "metrics": {
                "impressions": "10",
                "clicks": "2",
                "costMicros": "2500000000",
                "conversions": 1.5,
                "conversionsValue": 30.0,
            },
            "segments": {"date": "2026-11-01"},
            "customer": {"resourceName": "customers/1", "currencyCode": "EUR"},
        }
    )
    assert full.campaign_id == 9007199254740993  # beyond a double's exact integers
    assert (full.impressions, full.clicks, full.cost_micros) == (10, 2, 2_500_000_000)
    assert (full.conversions, full.conversions_value, full.currency_code) == (1.5, 30.0, "EUR")
    assert full.day == date(2026, 11, 1)

    bare = parse_row({"campaign": {"id": "5"}, "segments": {"date": "2026-11-02"}})
    assert (bare.impressions, bare.clicks, bare.cost_micros) == (0, 0, 0)
    assert (bare.conversions, bare.conversions_value) == (0.0, 0.0)
    assert (bare.name, bare.status, bare.currency_code) == ("", "UNSPECIFIED", "")

    with pytest.raises(TransientJobError, match=r"no campaign\.id"):
        parse_row({"metrics": {}, "segments": {"date": "2026-11-02"}})
    with pytest.raises(TransientJobError, match="not an int64"):
        parse_row(
            {
                "campaign": {"id": "5"},
                "segments": {"date": "2026-11-02"},
                "metrics": {"clicks": [1]},
            }
        )


def test_the_report_is_read_across_batches_with_the_fakes_numbers(
    ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    ads.batch_size = 4  # 3 campaigns x 5 days = 15 results: 4 batches
    batches = list(ads_client(credential, http).campaign_days(CUSTOMER, NOV_1, date(2026, 11, 5)))
    assert [len(b) for b in batches] == [4, 4, 4, 3]
    rows = {(row.campaign_id, row.day): row for batch in batches for row in batch}
    expected = ads.expected_rows(CUSTOMER, NOV_1, date(2026, 11, 5))
    assert set(rows) == set(expected)
    for key, values in expected.items():
        row = rows[key]
        assert (row.impressions, row.clicks, row.cost_micros) == (
            values["impressions"],
            values["clicks"],
            values["cost_micros"],
        )
        assert row.conversions == values["conversions"]
        assert row.currency_code == "EUR"
    paused = rows[(333, NOV_1)]
    assert (paused.status, paused.impressions, paused.cost_micros) == ("PAUSED", 0, 0)


def test_an_empty_report_has_no_rows(
    ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    ads.add_customer("1111111111", campaigns=[])
    ads.grant(ACCOUNT, "1111111111")
    batches = list(ads_client(credential, http).campaign_days("1111111111", NOV_1, NOV_3))
    assert _rows(batches) == []


def test_an_unknown_developer_token_fails_at_once(
    ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    client = ads_client(credential, http, developer_token="nobody-knows-this-token")
    with pytest.raises(AdsApiError) as caught:
        list(client.campaign_days(CUSTOMER, NOV_1, NOV_1))
    assert caught.value.category == "auth_failed"
    assert "developer token" in str(caught.value)
    assert "DEVELOPER_TOKEN_INVALID" in caught.value.error.reasons


def test_a_test_only_developer_token_says_how_to_get_basic_access(
    ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    client = ads_client(credential, http, developer_token=TEST_ONLY_TOKEN)
    with pytest.raises(AdsApiError) as caught:
        list(client.campaign_days(CUSTOMER, NOV_1, NOV_1))
    assert NOT_APPROVED_MESSAGE in str(caught.value)
    assert NOT_APPROVED_MESSAGE == (
        "the developer token is approved for test accounts only: apply for Basic access in "
        "the API Center or use a test account"
    )
    assert caught.value.category == "permission_denied"
    assert client.session.retries == 0


def test_no_access_and_disabled_accounts_fail_with_what_to_do(
    ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    client = ads_client(credential, http)
    ads.add_customer("2222222222")
    with pytest.raises(AdsApiError, match="has no access to this customer") as caught:
        list(client.campaign_days("2222222222", NOV_1, NOV_1))
    assert "USER_PERMISSION_DENIED" in caught.value.error.reasons
    ads.add_customer("3333333333", enabled=False)
    ads.grant(ACCOUNT, "3333333333")
    with pytest.raises(AdsApiError, match="not enabled") as disabled:
        list(client.campaign_days("3333333333", NOV_1, NOV_1))
    assert disabled.value.category == "permission_denied"


def test_a_401_after_a_fresh_token_asks_to_reconnect(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    unauthenticated = Reply(
        401,
        [google_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")],
    )
    fake.fail("googleAds:searchStream", unauthenticated, times=2)
    with pytest.raises(PermanentJobError, match="reconnect the account") as caught:
        list(ads_client(credential, http).campaign_days(CUSTOMER, NOV_1, NOV_1))
    assert caught.value.category == "auth_failed"
    assert len(fake.calls("/token")) == 2  # the cached token was dropped once


def test_invalid_grant_is_auth_failed(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    fake.revoke(credential)
    with pytest.raises(PermanentJobError) as caught:
        list(ads_client(credential, http).campaign_days(CUSTOMER, NOV_1, NOV_1))
    assert caught.value.category == "auth_failed"
    assert "invalid_grant" in str(caught.value)
    assert "reconnect the account" in str(caught.value)
    assert fake.calls("googleAds") == []


def test_quota_errors_are_retried_after_their_retry_delay(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    ads.quota_error(times=2, retry_delay="7s")
    waits = Waits()
    client = ads_client(credential, http, waits=waits)
    rows = _rows(client.campaign_days(CUSTOMER, NOV_1, NOV_1))
    assert len(rows) == 3
    assert waits.seconds == [7.0, 7.0]
    assert client.session.retries == 2
    assert len(fake.calls("googleAds:searchStream")) == 3


def test_a_retry_delay_beyond_the_longest_wait_retries_the_job_later(
    ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    ads.quota_error(times=1, retry_delay="600s")
    with pytest.raises(TransientJobError) as caught:
        list(ads_client(credential, http, max_wait=60).campaign_days(CUSTOMER, NOV_1, NOV_1))
    assert caught.value.retry_after == 600.0
    assert caught.value.category == "rate_limited"


def test_server_errors_are_retried_then_the_report_arrives(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    fake.fail(
        "googleAds:searchStream",
        Reply(500, [google_error(500, "Internal error encountered.", "INTERNAL")]),
    )
    fake.fail("googleAds:searchStream", Reply(503, b"<html>Service Unavailable</html>"))
    fake.fail("googleAds:searchStream", Reply(429, b"", headers={"Retry-After": "3"}))
    waits = Waits()
    client = ads_client(credential, http, waits=waits)
    assert len(_rows(client.campaign_days(CUSTOMER, NOV_1, NOV_1))) == 3
    assert client.session.retries == 3
    assert 3.0 in waits.seconds


def test_retries_are_bounded(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    fake.fail("googleAds:searchStream", Reply(500, b"oops"), times=3)
    with pytest.raises(TransientJobError, match="after 3 tries"):
        list(ads_client(credential, http, max_retries=2).campaign_days(CUSTOMER, NOV_1, NOV_1))


def test_malformed_answers_are_provider_errors(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    client = ads_client(credential, http)
    for body in (b'[{"results": [', b'{"results": []}', b'[{"results": {"a": 1}}]', b"[7]"):
        fake.fail("googleAds:searchStream", Reply(200, body))
        with pytest.raises(TransientJobError) as caught:
            list(client.campaign_days(CUSTOMER, NOV_1, NOV_1))
        assert caught.value.category == "provider_error"


def test_an_error_in_place_of_a_later_batch_is_not_taken_for_the_end(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    first = {"results": [{"campaign": {"id": "1"}, "segments": {"date": "2026-11-01"}}]}
    failure = google_error(500, "Internal error encountered.", "INTERNAL")
    fake.fail("googleAds:searchStream", Reply(200, [first, failure]))
    with pytest.raises(TransientJobError, match="INTERNAL"):
        list(ads_client(credential, http).campaign_days(CUSTOMER, NOV_1, NOV_1))
    denied = {
        "error": {
            "code": 403,
            "message": "The caller does not have permission",
            "status": "PERMISSION_DENIED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.ads.googleads.v22.errors.GoogleAdsFailure",
                    "errors": [{"errorCode": {"authorizationError": "USER_PERMISSION_DENIED"}}],
                }
            ],
        }
    }
    fake.fail("googleAds:searchStream", Reply(200, [denied]))
    with pytest.raises(AdsApiError, match="has no access"):
        list(ads_client(credential, http).campaign_days(CUSTOMER, NOV_1, NOV_1))


def test_a_timeout_is_retried_a_bounded_number_of_times(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str]
) -> None:
    fake.fail("googleAds:searchStream", Reply(200, b"[]", delay=1.0), times=2)
    started = time.monotonic()
    with httpx.Client(timeout=0.2) as slow, pytest.raises(TransientJobError) as caught:
        list(ads_client(credential, slow, max_retries=1).campaign_days(CUSTOMER, NOV_1, NOV_1))
    assert caught.value.category == "network"
    assert time.monotonic() - started < 3


def test_accessible_customers_are_listed_as_digits(
    fake: FakeGoogle, ads: AdsState, credential: dict[str, str], http: httpx.Client
) -> None:
    ads.grant(ACCOUNT, MANAGER)
    assert ads_client(credential, http).accessible_customers() == [CUSTOMER, MANAGER]
    (call,) = fake.calls("listAccessibleCustomers")
    assert (call.method, call.path) == ("GET", "/v22/customers:listAccessibleCustomers")
    assert call.headers["developer-token"] == DEVELOPER_TOKEN


def test_the_rate_limit_is_keyed_by_a_hash_of_the_developer_token(
    ads: AdsState, credential: dict[str, str], http: httpx.Client, redis_client: redis.Redis
) -> None:
    bucket = developer_token_bucket(DEVELOPER_TOKEN)
    assert DEVELOPER_TOKEN not in bucket.name
    assert bucket.name == developer_token_bucket(DEVELOPER_TOKEN).name
    assert bucket.name != developer_token_bucket(TEST_ONLY_TOKEN).name
    list(ads_client(credential, http).campaign_days(CUSTOMER, NOV_1, NOV_1))
    keys = [key.decode() for key in redis_client.keys("*")]
    assert f"tokens:{bucket.name}" in keys
    assert not any(DEVELOPER_TOKEN in key for key in keys)
    stored = repr([redis_client.hgetall(k) for k in keys])
    assert DEVELOPER_TOKEN not in stored
