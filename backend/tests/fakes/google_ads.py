"""A local Google Ads API (REST) on a FakeGoogle, speaking its documented formats.

- `POST /{version}/customers/{id}/googleAds:searchStream` `{"query": GAQL}` answers a JSON
  array of batches `{"results": [...], "fieldMask", "requestId"}` of at most `batch_size`
  results, lowerCamelCase, int64 as strings, fields at their default value left out (proto3
  JSON); only the selected fields are sent. Data are deterministic per (customer, campaign,
  day), so a test knows what a sync must store (`expected_rows`).
- `GET /{version}/customers:listAccessibleCustomers` answers `{"resourceNames": [...]}`.
- Errors as Google Ads sends them: `{"error": {"code", "message", "status", "details":
  [{"@type": "...GoogleAdsFailure", "errors": [{"errorCode": {...}, "message"}],
  "requestId"}]}}`, inside a JSON array on searchStream. The `developer-token` header is
  checked (unknown: 401 DEVELOPER_TOKEN_INVALID; test-only: 403 DEVELOPER_TOKEN_NOT_APPROVED
  for a real account), `login-customer-id` must be digits, access goes through `grant` (and
  a manager's client accounts), disabled customers answer CUSTOMER_NOT_ENABLED.

    with FakeGoogle() as fake:
        state = install_ads(fake)
        customer = seed_demo(state, "1234567890")   # a few realistic campaigns, EUR
"""

import hashlib
import random
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from tests.fakes.google import Call, FakeGoogle, Reply

SEARCH_STREAM = r"/(?P<version>v\d+)/customers/(?P<customer>[^/]+)/googleAds:searchStream"
LIST_ACCESSIBLE = r"/(?P<version>v\d+)/customers:listAccessibleCustomers"
DEMO_DEVELOPER_TOKEN = "demo-developer-token"
ANY_ACCOUNT = "*"

_BETWEEN = re.compile(
    r"segments\.date\s+BETWEEN\s+'(\d{4}-\d{2}-\d{2})'\s+AND\s+'(\d{4}-\d{2}-\d{2})'", re.I
)
_SELECT = re.compile(r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<resource>\w+)\b", re.I | re.S)
KNOWN_FIELDS = frozenset(
    {
        "segments.date",
        "campaign.id",
        "campaign.name",
        "campaign.status",
        "campaign.resource_name",
        "metrics.impressions",
        "metrics.clicks",
        "metrics.cost_micros",
        "metrics.conversions",
        "metrics.conversions_value",
        "customer.currency_code",
        "customer.resource_name",
    }
)


@dataclass(slots=True)
class FakeCampaign:
    id: int
    name: str
    status: str = "ENABLED"  # PAUSED campaigns have no metrics (rows with none of them)
    impressions: int = 1000  # a typical day
    ctr: float = 0.05
    cpc_micros: int = 800_000
    conversion_rate: float = 0.04
    value_per_conversion: float = 50.0
    first_day: date | None = None  # no rows before


@dataclass(slots=True)
class FakeCustomer:
    id: str  # 10 digits
    currency: str = "EUR"
    campaigns: list[FakeCampaign] = field(default_factory=list)
    manager: str | None = None  # reached through this manager account too
    enabled: bool = True


@dataclass(slots=True)
class AdsState:
    fake: FakeGoogle
    developer_tokens: dict[str, bool] = field(default_factory=dict)  # token -> basic access
    customers: dict[str, FakeCustomer] = field(default_factory=dict)
    access: dict[str, set[str]] = field(default_factory=dict)  # account -> customer ids
    batch_size: int = 10_000
    # (customer, campaign id, day) -> metrics replacing the seeded ones (late conversions...)
    overrides: dict[tuple[str, int, date], dict[str, float]] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)

    def add_developer_token(self, token: str, *, approved: bool = True) -> str:
        """`approved` False: a token with test-account access only."""
        self.developer_tokens[token] = approved
        return token

    def add_customer(
        self,
        customer_id: str,
        *,
        currency: str = "EUR",
        campaigns: Iterable[FakeCampaign] = (),
        manager: str | None = None,
        enabled: bool = True,
    ) -> FakeCustomer:
        customer = FakeCustomer(customer_id, currency, list(campaigns), manager, enabled)
        self.customers[customer_id] = customer
        return customer

    def grant(self, account: str, *customer_ids: str) -> None:
        """`account` (a credential's user; ANY_ACCOUNT for everyone) reaches these customers."""
        self.access.setdefault(account, set()).update(customer_ids)

    def quota_error(self, *, times: int = 1, retry_delay: str = "1s") -> None:
        """The next `times` searchStream calls answer 429 RESOURCE_EXHAUSTED with retryDelay."""
        body = [
            ads_error(
                429,
                "Resource has been exhausted (e.g. check quota).",
                "RESOURCE_EXHAUSTED",
                {"quotaError": "RESOURCE_EXHAUSTED"},
                "Too many requests. Retry in 1 seconds.",
                details={
                    "quotaErrorDetails": {
                        "rateScope": "DEVELOPER",
                        "rateName": "Number of operations for basic access",
                        "retryDelay": retry_delay,
                    }
                },
            )
        ]
        self.fake.fail(r"googleAds:searchStream", Reply(429, body), times=times)

    # --- data ----------------------------------------------------------------------------

    def metrics(self, customer_id: str, campaign: FakeCampaign, day: date) -> dict[str, float]:
        """The seeded metrics of a campaign on a day (or its override): ints and floats."""
        override = self.overrides.get((customer_id, campaign.id, day))
        if override is not None:
            return dict(override)
        if campaign.status != "ENABLED":
            return {}
        seed = hashlib.sha256(f"{customer_id}:{campaign.id}:{day}".encode()).digest()
        rng = random.Random(seed)
        weekday = 0.75 if day.weekday() >= 5 else 1.0
        impressions = int(campaign.impressions * weekday * rng.uniform(0.6, 1.4))
        clicks = int(impressions * campaign.ctr * rng.uniform(0.7, 1.3))
        cost_micros = clicks * campaign.cpc_micros * rng.randint(70, 130) // 100 // 10_000 * 10_000
        conversions = round(clicks * campaign.conversion_rate * rng.uniform(0.5, 1.5), 2)
        value = round(conversions * campaign.value_per_conversion * rng.uniform(0.8, 1.2), 2)
        return {
            "impressions": impressions,
            "clicks": clicks,
            "cost_micros": cost_micros,
            "conversions": conversions,
            "conversions_value": value,
        }

    def expected_rows(
        self, customer_id: str, start: date, end: date
    ) -> dict[tuple[int, date], dict[str, float]]:
        """What a report of the range holds, by (campaign id, day); zeros where omitted."""
        customer = self.customers[customer_id]
        out: dict[tuple[int, date], dict[str, float]] = {}
        for day in _days(start, end):
            for campaign in customer.campaigns:
                if campaign.first_day is not None and day < campaign.first_day:
                    continue
                values = self.metrics(customer_id, campaign, day)
                out[(campaign.id, day)] = {
                    name: values.get(name, 0)
                    for name in (
                        "impressions",
                        "clicks",
                        "cost_micros",
                        "conversions",
                        "conversions_value",
                    )
                }
        return out

    def _result(self, customer: FakeCustomer, campaign: FakeCampaign, day: date) -> dict[str, Any]:
        values = self.metrics(customer.id, campaign, day)
        metrics: dict[str, Any] = {}
        for name, key, int64 in (
            ("impressions", "impressions", True),
            ("clicks", "clicks", True),
            ("cost_micros", "costMicros", True),
            ("conversions", "conversions", False),
            ("conversions_value", "conversionsValue", False),
        ):
            value = values.get(name, 0)
            if value:  # proto3 JSON leaves default values out
                metrics[key] = str(int(value)) if int64 else float(value)
        campaign_json: dict[str, Any] = {
            "resourceName": f"customers/{customer.id}/campaigns/{campaign.id}",
            "status": campaign.status,
            "name": campaign.name,
            "id": str(campaign.id),
        }
        return {
            "customer": {
                "resourceName": f"customers/{customer.id}",
                "currencyCode": customer.currency,
            },
            "campaign": campaign_json,
            "metrics": metrics,
            "segments": {"date": day.isoformat()},
        }

    # --- answering -----------------------------------------------------------------------

    def _reachable(self, account: str | None, customer_id: str, login: str | None) -> bool:
        direct = self.access.get(account or "", set()) | self.access.get(ANY_ACCOUNT, set())
        if login is None:
            return customer_id in direct
        if login not in direct:
            return False
        customer = self.customers.get(customer_id)
        return customer_id == login or (customer is not None and customer.manager == login)

    def _check_headers(self, call: Call, version: str) -> Reply | None:
        token = call.headers.get("developer-token")
        if token is None or token not in self.developer_tokens:
            return Reply(
                401,
                [
                    ads_error(
                        401,
                        "Request is missing required authentication credential. Expected OAuth "
                        "2 access token, login cookie or other valid authentication credential.",
                        "UNAUTHENTICATED",
                        {"authenticationError": "DEVELOPER_TOKEN_INVALID"},
                        "The developer token is not valid.",
                        version=version,
                    )
                ],
            )
        login = call.headers.get("login-customer-id")
        if login is not None and not re.fullmatch(r"\d{10}", login):
            return Reply(
                400,
                [
                    ads_error(
                        400,
                        "Request contains an invalid argument.",
                        "INVALID_ARGUMENT",
                        {"requestError": "INVALID_CUSTOMER_ID"},
                        "Invalid login-customer-id header: it must be digits only.",
                        version=version,
                    )
                ],
            )
        return None

    def search_stream(self, call: Call, match: "re.Match[str]") -> Reply:
        version = match["version"]
        refused = self._check_headers(call, version)
        if refused is not None:
            return refused
        customer_id = match["customer"]
        if not self.developer_tokens[call.headers["developer-token"]]:
            return Reply(
                403,
                [
                    ads_error(
                        403,
                        "The caller does not have permission",
                        "PERMISSION_DENIED",
                        {"authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"},
                        "The developer token is only approved for use with test accounts. To "
                        "access non-test accounts, apply for Basic or Standard access.",
                        version=version,
                    )
                ],
            )
        customer = self.customers.get(customer_id)
        if customer is None or not self._reachable(
            call.account, customer_id, call.headers.get("login-customer-id")
        ):
            return Reply(
                403,
                [
                    ads_error(
                        403,
                        "The caller does not have permission",
                        "PERMISSION_DENIED",
                        {"authorizationError": "USER_PERMISSION_DENIED"},
                        "User doesn't have permission to access customer. Note: If you're "
                        "accessing a client customer, the manager's customer id must be set in "
                        "the 'login-customer-id' header.",
                        version=version,
                    )
                ],
            )
        if not customer.enabled:
            return Reply(
                403,
                [
                    ads_error(
                        403,
                        "The caller does not have permission",
                        "PERMISSION_DENIED",
                        {"authorizationError": "CUSTOMER_NOT_ENABLED"},
                        "The customer account can't be accessed because it is not yet enabled "
                        "or has been deactivated.",
                        version=version,
                    )
                ],
            )
        try:
            query = str(call.json()["query"])
        except (ValueError, KeyError, TypeError):
            return Reply(400, [_query_error("The request body has no query.", version)])
        self.queries.append(query)
        select = _SELECT.match(query)
        between = _BETWEEN.search(query)
        if select is None or select["resource"] != "campaign":
            return Reply(400, [_query_error("Error in query: unexpected input.", version)])
        fields = [f.strip() for f in select["fields"].split(",")]
        unknown = [f for f in fields if f not in KNOWN_FIELDS]
        if unknown:
            return Reply(
                400, [_query_error(f"Unrecognized field in the query: '{unknown[0]}'.", version)]
            )
        if between is None:
            return Reply(400, [_query_error("A segments.date range is required.", version)])
        start, end = date.fromisoformat(between[1]), date.fromisoformat(between[2])
        if start > end:
            return Reply(400, [_query_error("The start date is after the end date.", version)])
        results: list[dict[str, Any]] = []
        for day in _days(start, end):
            for campaign in customer.campaigns:
                if campaign.first_day is not None and day < campaign.first_day:
                    continue
                results.append(_only(self._result(customer, campaign, day), fields))
        mask = ",".join(_camel(f) for f in fields)
        request_id = secrets.token_urlsafe(16)
        batches: list[dict[str, Any]] = [
            {
                "results": results[i : i + self.batch_size],
                "fieldMask": mask,
                "requestId": request_id,
            }
            for i in range(0, len(results), self.batch_size)
        ] or [{"fieldMask": mask, "requestId": request_id}]
        return Reply(200, batches)

    def list_accessible(self, call: Call, match: "re.Match[str]") -> Reply:
        refused = self._check_headers(call, match["version"])
        if refused is not None:
            return Reply(refused.status, refused.body[0])  # unary calls: not in an array
        reachable = self.access.get(call.account or "", set()) | self.access.get(ANY_ACCOUNT, set())
        return Reply(200, {"resourceNames": [f"customers/{c}" for c in sorted(reachable)]})


def ads_error(
    code: int,
    message: str,
    status: str,
    error_code: dict[str, str],
    detail: str,
    *,
    version: str = "v22",
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Google Ads error body (not yet wrapped in searchStream's array)."""
    failure: dict[str, Any] = {"errorCode": error_code, "message": detail}
    if details is not None:
        failure["details"] = details
    return {
        "error": {
            "code": code,
            "message": message,
            "status": status,
            "details": [
                {
                    "@type": "type.googleapis.com/google.ads.googleads."
                    f"{version}.errors.GoogleAdsFailure",
                    "errors": [failure],
                    "requestId": secrets.token_urlsafe(16),
                }
            ],
        }
    }


def _query_error(message: str, version: str) -> dict[str, Any]:
    return ads_error(
        400,
        "Request contains an invalid argument.",
        "INVALID_ARGUMENT",
        {"queryError": "UNEXPECTED_INPUT"},
        message,
        version=version,
    )


def _camel(field_name: str) -> str:
    resource, _, name = field_name.partition(".")
    head, *rest = name.split("_")
    return f"{resource}.{head}{''.join(part.title() for part in rest)}"


def _only(result: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    """The result with only the selected fields (resource names always come along)."""
    out: dict[str, Any] = {}
    for name in fields:
        resource, key = _camel(name).split(".")
        section = result.get(resource, {})
        target = out.setdefault(resource, {})
        if "resourceName" in section:
            target["resourceName"] = section["resourceName"]
        if key in section:
            target[key] = section[key]
    return out


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def install_ads(fake: FakeGoogle) -> AdsState:
    """Registers the Google Ads routes on `fake`; returns their state."""
    state = AdsState(fake)
    fake.route("POST", SEARCH_STREAM, state.search_stream)
    fake.route("GET", LIST_ACCESSIBLE, state.list_accessible)
    return state


def seed_demo(state: AdsState, customer_id: str, *, account: str = ANY_ACCOUNT) -> FakeCustomer:
    """A realistic small account (EUR, five campaigns, one paused, one started three weeks
    ago) that `account` (default: anyone) reaches with DEMO_DEVELOPER_TOKEN."""
    state.add_developer_token(DEMO_DEVELOPER_TOKEN)
    state.grant(account, customer_id)
    recent = date.today() - timedelta(days=21)
    return state.add_customer(
        customer_id,
        currency="EUR",
        campaigns=[
            FakeCampaign(
                20451790011,
                "Brand | Search | DE",
                impressions=2400,
                ctr=0.18,
                cpc_micros=350_000,
                conversion_rate=0.09,
                value_per_conversion=64.0,
            ),
            FakeCampaign(
                20451790012,
                "Generic | Search | Running shoes",
                impressions=9800,
                ctr=0.041,
                cpc_micros=1_120_000,
                conversion_rate=0.032,
                value_per_conversion=89.0,
            ),
            FakeCampaign(
                20451790013,
                "Performance Max | Shop",
                impressions=31000,
                ctr=0.012,
                cpc_micros=640_000,
                conversion_rate=0.025,
                value_per_conversion=72.5,
            ),
            FakeCampaign(20451790014, "Display | Remarketing", status="PAUSED"),
            FakeCampaign(
                20451790015,
                "YouTube | Awareness | Spring",
                impressions=54000,
                ctr=0.004,
                cpc_micros=210_000,
                conversion_rate=0.006,
                value_per_conversion=40.0,
                first_day=recent,
            ),
        ],
    )
