"""The Google call rules against a local Google: tokens, errors, retries, shared limits."""

import time
from collections.abc import Iterator

import httpx
import pytest

from app.connections import google
from app.core.token_bucket import Bucket, TokenBuckets
from app.jobs.errors import PermanentJobError, TransientJobError
from tests.fakes.google import Call, FakeGoogle, Reply, google_error

SCOPES = ("https://www.googleapis.com/auth/webmasters.readonly",)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeGoogle]:
    with FakeGoogle() as server:
        server.route("GET", r"/api/who", lambda call, _m: Reply(200, {"account": call.account}))
        yield server


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


WAITS: list[float] = []


def session_for(
    credential: dict[str, str], http: httpx.Client, **kw: object
) -> google.GoogleSession:
    """A session whose waits are recorded in WAITS instead of slept."""
    WAITS.clear()
    return google.GoogleSession(
        credential=google.parse_credential(credential),
        scopes=SCOPES,
        client=http,
        sleep=WAITS.append,
        **kw,  # type: ignore[arg-type]
    )


def test_a_service_account_and_an_oauth_client_both_get_tokens(
    fake: FakeGoogle, http: httpx.Client
) -> None:
    for credential, account in (
        (fake.service_account("a@p.iam.gserviceaccount.com"), "a@p.iam.gserviceaccount.com"),
        (fake.oauth_client("owner@example.com"), "owner@example.com"),
    ):
        body = session_for(credential, http).request("GET", f"{fake.url}/api/who", what="who")
        assert google.response_json(body, "who") == {"account": account}


def test_invalid_grant_fails_at_once_asking_to_reconnect(
    fake: FakeGoogle, http: httpx.Client
) -> None:
    credential = fake.oauth_client()
    fake.revoke(credential)
    with pytest.raises(PermanentJobError) as caught:
        session_for(credential, http).request("GET", f"{fake.url}/api/who", what="who")
    assert caught.value.category == "auth_failed"
    assert "invalid_grant" in str(caught.value)
    assert "reconnect the account" in str(caught.value)


def test_a_forged_service_account_is_refused(fake: FakeGoogle, http: httpx.Client) -> None:
    credential = fake.service_account("forged@p.iam.gserviceaccount.com")
    other = FakeGoogle().service_account("forged@p.iam.gserviceaccount.com")  # another key
    forged = {**credential, "private_key": other["private_key"]}
    with pytest.raises(PermanentJobError, match="reconnect"):
        session_for(forged, http).request("GET", f"{fake.url}/api/who", what="who")


def test_5xx_and_quota_errors_are_retried_honouring_retry_after(
    fake: FakeGoogle, http: httpx.Client
) -> None:
    s = session_for(fake.oauth_client(), http)
    fake.fail(
        r"/api/who",
        Reply(503, google_error(503, "The service is currently unavailable.", "UNAVAILABLE")),
    )
    fake.fail(
        r"/api/who",
        Reply(
            429,
            google_error(429, "Quota exceeded", "RESOURCE_EXHAUSTED", reason="rateLimitExceeded"),
            headers={"Retry-After": "7"},
        ),
    )
    fake.fail(
        r"/api/who",
        Reply(
            403,
            google_error(
                403,
                "User rate limit",
                "PERMISSION_DENIED",
                reason="userRateLimitExceeded",
                domain="usageLimits",
            ),
        ),
    )
    body = s.request("GET", f"{fake.url}/api/who", what="who")
    assert b"account" in body
    assert s.retries == 3
    assert 7.0 in WAITS


def test_retries_are_bounded_then_the_job_retries_later(
    fake: FakeGoogle, http: httpx.Client
) -> None:
    s = session_for(fake.oauth_client(), http, max_retries=2)
    fake.fail(r"/api/who", Reply(500, b"<html>oops</html>"), times=3)
    with pytest.raises(TransientJobError, match="after 3 tries"):
        s.request("GET", f"{fake.url}/api/who", what="who")


def test_permission_errors_fail_at_once(fake: FakeGoogle, http: httpx.Client) -> None:
    s = session_for(fake.oauth_client(), http)
    message = "User does not have sufficient permission for site 'sc-domain:example.com'."
    fake.fail(
        r"/api/who", Reply(403, google_error(403, message, "PERMISSION_DENIED", reason="forbidden"))
    )
    with pytest.raises(google.GoogleApiError) as caught:
        s.request("GET", f"{fake.url}/api/who", what="who")
    assert caught.value.category == "permission_denied"
    assert caught.value.error.reasons == {"forbidden"}
    assert s.retries == 0


def test_a_rejected_token_is_refreshed_once_then_401_fails(
    fake: FakeGoogle, http: httpx.Client
) -> None:
    s = session_for(fake.oauth_client(), http)
    unauth = Reply(
        401, google_error(401, "Request had invalid authentication credentials.", "UNAUTHENTICATED")
    )
    fake.fail(r"/api/who", unauth)
    assert b"account" in s.request("GET", f"{fake.url}/api/who", what="who")
    fake.fail(r"/api/who", unauth, times=2)
    with pytest.raises(PermanentJobError) as caught:
        s.request("GET", f"{fake.url}/api/who", what="who")
    assert caught.value.category == "auth_failed"


def test_ads_errors_inside_an_array_with_retry_delay_are_understood() -> None:
    body = b"""[{"error": {"code": 429,
      "message": "Resource has been exhausted (e.g. check quota).",
      "status": "RESOURCE_EXHAUSTED", "details": [{"@type":
      "type.googleapis.com/google.ads.googleads.v22.errors.GoogleAdsFailure", "errors": [{
      "errorCode": {"quotaError": "RESOURCE_EXHAUSTED"}, "message": "Too many requests.",
      "details": {"quotaErrorDetails": {"rateScope": "DEVELOPER", "rateName":
      "Number of operations for basic access", "retryDelay": "30s"}}}],
      "requestId": "abc"}]}}]"""
    error = google.parse_error(429, body)
    assert error.retryable
    assert error.retry_delay == 30.0
    assert "RESOURCE_EXHAUSTED" in error.reasons
    assert "Too many requests" in error.message
    not_approved = google.parse_error(
        403,
        b"""{"error": {"code": 403, "message": "The caller does not have permission",
      "status": "PERMISSION_DENIED", "details": [{"@type":
      "type.googleapis.com/google.ads.googleads.v22.errors.GoogleAdsFailure", "errors": [{
      "errorCode": {"authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"}, "message":
      "The developer token is only approved for use with test accounts."}]}]}}""",
    )
    assert not not_approved.retryable
    assert "DEVELOPER_TOKEN_NOT_APPROVED" in not_approved.reasons
    garbage = google.parse_error(502, b"<html>Bad Gateway</html>")
    assert garbage.retryable
    assert "Bad Gateway" in garbage.message


def test_token_uri_must_be_googles(fake: FakeGoogle) -> None:
    for uri in (
        "http://10.0.0.5/token",
        "https://evil.example/token",
        "ftp://oauth2.googleapis.com/token",
    ):
        with pytest.raises(google.CredentialInvalidError):
            google.parse_credential({**fake.oauth_client(), "token_uri": uri})
    ok = google.parse_credential({**fake.oauth_client(), "token_uri": google.GOOGLE_TOKEN_URI})
    assert ok.kind == "oauth"
    with pytest.raises(google.CredentialInvalidError, match="service-account key"):
        google.parse_credential(
            {
                "type": "service_account",
                "client_email": "a@b",
                "private_key": "-----BEGIN PRIVATE KEY-----\nnope\n-----END PRIVATE KEY-----\n",
            }
        )
    with pytest.raises(google.CredentialInvalidError, match="must be"):
        google.parse_credential({"hello": "world"})


def test_the_shared_rate_limit_makes_calls_wait(
    fake: FakeGoogle, http: httpx.Client, redis_client: object
) -> None:
    bucket = Bucket(name="test:google:limit", per_minute=60, burst=2)
    s = session_for(fake.oauth_client(), http, buckets=[bucket], limiter=TokenBuckets())
    s.sleep = lambda seconds: (WAITS.append(seconds), time.sleep(seconds))[0]  # type: ignore[func-returns-value]
    for _ in range(3):
        s.request("GET", f"{fake.url}/api/who", what="who")
    waits = WAITS
    assert len(waits) >= 1
    assert 0.5 < sum(waits) <= 1.1


def test_calls_that_were_answered_are_all_logged(fake: FakeGoogle) -> None:
    assert all(isinstance(c, Call) for c in fake.requests)
