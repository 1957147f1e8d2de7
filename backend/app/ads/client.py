"""The Google Ads API over REST (the official `google-ads` package speaks gRPC only).

Two calls: `googleAds:searchStream` with a GAQL query for campaign metrics per day, and
`customers:listAccessibleCustomers` for the test connection. Every call carries the
`developer-token` header and, when access goes through a manager account, `login-customer-id`
(digits only); `Authorization: Bearer` comes from the shared GoogleSession, which also does
the retries (429, 5xx, QuotaError RESOURCE_EXHAUSTED honouring retryDelay) and the shared
rate limit: one token bucket per developer token, the unit Google meters.

Answers are protobuf JSON: lowerCamelCase names, int64 as strings ("costMicros":
"2500000000"), and fields at their default value left out altogether (no "clicks" means 0).
searchStream answers a JSON array of batches (`results`, `fieldMask`, `requestId`); an error
comes as an array too, before the first batch (an HTTP error) or in place of a later one.
"""

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from app.ads.models import format_customer_id
from app.connections.google import (
    GoogleApiError,
    GoogleCredential,
    GoogleError,
    GoogleSession,
    parse_error,
    permanent_error,
    response_json,
)
from app.core.config import settings
from app.core.token_bucket import Bucket
from app.jobs.errors import TransientJobError

SCOPE = "https://www.googleapis.com/auth/adwords"

CAMPAIGN_FIELDS = (
    "segments.date",
    "campaign.id",
    "campaign.name",
    "campaign.status",
    "metrics.impressions",
    "metrics.clicks",
    "metrics.cost_micros",
    "metrics.conversions",
    "metrics.conversions_value",
    "customer.currency_code",
)

NOT_APPROVED_MESSAGE = (
    "the developer token is approved for test accounts only: apply for Basic access in the "
    "API Center or use a test account"
)


def campaign_query(start: date, end: date) -> str:
    """GAQL for every campaign's metrics per day from `start` to `end` (both included)."""
    # Not SQL, and the only values are dates formatted here.
    return (
        f"SELECT {', '.join(CAMPAIGN_FIELDS)} FROM campaign "  # noqa: S608
        f"WHERE segments.date BETWEEN '{start.isoformat()}' AND '{end.isoformat()}'"
    )


@dataclass(frozen=True, slots=True)
class AdsAccess:
    """What a call needs from a connection: who calls, with which developer token, through
    which manager account (10 digits, or None)."""

    credential: GoogleCredential
    developer_token: str
    login_customer_id: str | None = None


@dataclass(frozen=True, slots=True)
class CampaignDay:
    """One row of the campaign report: a campaign's metrics on one day."""

    day: date
    campaign_id: int
    name: str
    status: str
    impressions: int
    clicks: int
    cost_micros: int
    conversions: float
    conversions_value: float
    currency_code: str


def developer_token_bucket(developer_token: str) -> Bucket:
    """The shared rate limit of a developer token. Its Redis key names a hash, never the
    token itself."""
    digest = hashlib.sha256(developer_token.encode()).hexdigest()[:32]
    return Bucket(name=f"ads:developer-token:{digest}", per_minute=settings.ADS_REQUESTS_PER_MINUTE)


class AdsApiError(GoogleApiError):
    """Google Ads refused the call for good; the message says what to fix."""


def ads_error(error: GoogleError, what: str, account: str) -> GoogleApiError:
    """A refusal worded for people, for the Google Ads codes that have a known fix."""
    codes = error.reasons | {error.status}
    if "DEVELOPER_TOKEN_NOT_APPROVED" in codes:
        return AdsApiError(f"{what}: {NOT_APPROVED_MESSAGE}", error, category="permission_denied")
    if "DEVELOPER_TOKEN_INVALID" in codes or "DEVELOPER_TOKEN_PROHIBITED" in codes:
        return AdsApiError(
            f"{what}: Google does not accept the developer token: copy it again from the "
            "API Center and reconnect",
            error,
            category="auth_failed",
        )
    if "USER_PERMISSION_DENIED" in codes:
        return AdsApiError(
            f"{what}: {account} has no access to this customer account: give it access in "
            "Google Ads, or connect through the manager account (login customer id), then "
            "reconnect",
            error,
            category="permission_denied",
        )
    if "CUSTOMER_NOT_ENABLED" in codes:
        return AdsApiError(
            f"{what}: the customer account is not enabled (not set up yet, cancelled or "
            "suspended): reconnect with an active account",
            error,
            category="permission_denied",
        )
    return permanent_error(error, what, account)


class AdsClient:
    """Calls to the Google Ads API for one connection."""

    def __init__(
        self,
        access: AdsAccess,
        http: httpx.Client,
        *,
        checkpoint: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_retries: int | None = None,
        max_wait: float | None = None,
    ) -> None:
        self.access = access
        self.session = GoogleSession(
            credential=access.credential,
            scopes=(SCOPE,),
            client=http,
            buckets=[developer_token_bucket(access.developer_token)],
            checkpoint=checkpoint,
            sleep=sleep,
        )
        if max_retries is not None:
            self.session.max_retries = max_retries
        if max_wait is not None:
            self.session.max_wait = max_wait
        self.base = (
            f"{settings.GOOGLE_ADS_API_BASE_URL.rstrip('/')}/{settings.GOOGLE_ADS_API_VERSION}"
        )

    def _headers(self) -> dict[str, str]:
        headers = {"developer-token": self.access.developer_token}
        if self.access.login_customer_id:
            headers["login-customer-id"] = self.access.login_customer_id
        return headers

    def _call(self, method: str, url: str, *, what: str, json_body: object = None) -> Any:
        try:
            body = self.session.request(
                method, url, what=what, json_body=json_body, headers=self._headers()
            )
        except GoogleApiError as exc:
            raise ads_error(exc.error, what, self.access.credential.account) from exc
        return response_json(body, what)

    def accessible_customers(self) -> list[str]:
        """The customer ids (digits) the credential can reach directly."""
        what = "Google Ads customers:listAccessibleCustomers"
        document = self._call("GET", f"{self.base}/customers:listAccessibleCustomers", what=what)
        names = document.get("resourceNames", []) if isinstance(document, dict) else None
        if not isinstance(names, list):
            raise _malformed(what, "no resourceNames list")
        return [str(name).removeprefix("customers/") for name in names]

    def campaign_days(
        self, customer_id: str, start: date, end: date
    ) -> Iterator[list[CampaignDay]]:
        """The campaign report of `customer_id` (digits) from `start` to `end`, one list per
        batch of the stream."""
        what = (
            f"Google Ads report of customer {format_customer_id(customer_id)} "
            f"({start.isoformat()} to {end.isoformat()})"
        )
        document = self._call(
            "POST",
            f"{self.base}/customers/{customer_id}/googleAds:searchStream",
            what=what,
            json_body={"query": campaign_query(start, end)},
        )
        if not isinstance(document, list):
            raise _malformed(what, "the answer is not an array of batches")
        for batch in document:
            if not isinstance(batch, dict):
                raise _malformed(what, "a batch is not an object")
            if "error" in batch:
                raise self._stream_error(batch, what)
            results = batch.get("results", [])
            if not isinstance(results, list):
                raise _malformed(what, "results is not a list")
            yield [parse_row(row, what) for row in results]

    def _stream_error(self, batch: Mapping[str, Any], what: str) -> Exception:
        """An error in place of a batch, after the HTTP status was already 200."""
        raw = batch["error"]
        status = raw.get("code") if isinstance(raw, dict) else None
        error = parse_error(
            status if isinstance(status, int) else 500, json.dumps(dict(batch)).encode()
        )
        if error.retryable:
            return TransientJobError(
                f"{what}: {error.describe()}",
                retry_after=error.retry_delay,
                category="rate_limited",
            )
        return ads_error(error, what, self.access.credential.account)


def _malformed(what: str, why: str) -> TransientJobError:
    return TransientJobError(
        f"{what}: Google's answer is not a report ({why})", category="provider_error"
    )


def _int64(value: object) -> int:
    """A proto3 int64: a string of digits (or a JSON number); absent means 0."""
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"not an int64: {value!r}")
    return int(value)


def _double(value: object) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"not a number: {value!r}")
    return float(value)


def _section(row: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    section = row.get(name, {})
    if not isinstance(section, dict):
        raise ValueError(f"{name} is not an object")
    return section


def parse_row(row: object, what: str = "Google Ads report") -> CampaignDay:
    """One `results[]` item. Missing metrics are zeros and a missing status is UNSPECIFIED
    (proto3 JSON leaves defaults out); a row without a date or a campaign id is refused."""
    try:
        if not isinstance(row, dict):
            raise ValueError("a result is not an object")
        campaign = _section(row, "campaign")
        metrics = _section(row, "metrics")
        segments = _section(row, "segments")
        customer = _section(row, "customer")
        if "id" not in campaign or "date" not in segments:
            raise ValueError("a result has no campaign.id or segments.date")
        return CampaignDay(
            day=date.fromisoformat(str(segments["date"])),
            campaign_id=_int64(campaign["id"]),
            name=str(campaign.get("name", "")),
            status=str(campaign.get("status", "UNSPECIFIED")),
            impressions=_int64(metrics.get("impressions")),
            clicks=_int64(metrics.get("clicks")),
            cost_micros=_int64(metrics.get("costMicros")),
            conversions=_double(metrics.get("conversions")),
            conversions_value=_double(metrics.get("conversionsValue")),
            currency_code=str(customer.get("currencyCode", "")),
        )
    except ValueError as exc:
        raise _malformed(what, str(exc)) from exc
