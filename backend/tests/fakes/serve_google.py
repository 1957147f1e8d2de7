"""Google's servers for the dashboard's browser tests, as one process: the token endpoint,
Search Console and Google Ads (the fakes the backend tests use), seeded with demo data; and
SerpApi, the rank provider, on a port of its own.

    uv run python -m tests.fakes.serve_google --port 0

prints one JSON line once it listens: its `url` (the platform under test takes it as
GSC_API_BASE_URL and GOOGLE_ADS_API_BASE_URL, with 127.0.0.1 in GOOGLE_TOKEN_HOSTS), a
`service_account` key it accepts (a user of the Search Console property), an `oauth` client
(it reaches the Ads customer), and for each API what a test should see after a first sync:
the figures of the dashboard's default range, the last 28 days (today, UTC, included); and
`serp`: SerpApi's `url` (SERPAPI_BASE_URL) and the `api_key` it accepts. Then it serves until
SIGTERM or SIGINT.
"""

import argparse
import datetime as dt
import json
import signal
import sys
import threading
from collections import defaultdict
from typing import Any

from tests.fakes import google_ads, gsc
from tests.fakes.google import FakeGoogle
from tests.fakes.serpapi import fake_serpapi

DEFAULT_PROPERTY = "sc-domain:example.com"
DEFAULT_CUSTOMER = "1234567890"
RANGE_DAYS = 28  # the dashboard's default range
PERMISSION = "siteOwner"


def gsc_expectations(state: gsc.GscState, site_url: str, today: dt.date) -> dict[str, Any]:
    """What the dashboard shows for the last 28 days after a first daily sync: that sync
    fetches the 28 days before today (gsc/sync.py's FIRST_SYNC_DAYS), so today is empty. The
    totals are the property-level ones (anonymised queries included); the top query is the
    one with most clicks in the rows."""
    start = today - dt.timedelta(days=RANGE_DAYS - 1)
    days = [start + dt.timedelta(days=i) for i in range(RANGE_DAYS - 1)]
    clicks = impressions = 0
    query_clicks: dict[str, int] = defaultdict(int)
    query_impressions: dict[str, int] = defaultdict(int)
    for day in days:
        for total in state.totals(site_url, day):
            clicks += int(total["clicks"])
            impressions += int(total["impressions"])
        for row in state.rows(site_url, day):
            query_clicks[row["keys"][1]] += int(row["clicks"])
            query_impressions[row["keys"][1]] += int(row["impressions"])
    top = max(query_clicks, key=lambda q: (query_clicks[q], q))
    return {
        "property": site_url,
        "permission": PERMISSION,
        "start": start.isoformat(),
        "end": today.isoformat(),
        "clicks": clicks,
        "impressions": impressions,
        "top_query": {
            "query": top,
            "clicks": query_clicks[top],
            "impressions": query_impressions[top],
        },
    }


def ads_expectations(
    state: google_ads.AdsState, customer: google_ads.FakeCustomer, today: dt.date
) -> dict[str, Any]:
    """The last 28 days of the account (the first sync covers 90 days up to today)."""
    start = today - dt.timedelta(days=RANGE_DAYS - 1)
    rows = state.expected_rows(customer.id, start, today)
    by_campaign: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (campaign_id, _day), values in rows.items():
        for name, value in values.items():
            by_campaign[campaign_id][name] += value
    campaign = customer.campaigns[0]
    return {
        "customer_id": customer.id,
        "developer_token": google_ads.DEMO_DEVELOPER_TOKEN,
        "currency": customer.currency,
        "start": start.isoformat(),
        "end": today.isoformat(),
        "cost": round(sum(v["cost_micros"] for v in by_campaign.values()) / 1_000_000, 2),
        "clicks": int(sum(v["clicks"] for v in by_campaign.values())),
        "campaign": {
            "name": campaign.name,
            "cost": round(by_campaign[campaign.id]["cost_micros"] / 1_000_000, 2),
            "clicks": int(by_campaign[campaign.id]["clicks"]),
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    parser.add_argument("--property", default=DEFAULT_PROPERTY)
    parser.add_argument("--customer-id", default=DEFAULT_CUSTOMER)
    args = parser.parse_args(argv)

    fake = FakeGoogle(port=args.port)
    service_account = fake.service_account()
    oauth = fake.oauth_client()
    gsc_state = gsc.install_gsc(fake)
    gsc.seed_demo(gsc_state, args.property, account=service_account["client_email"])
    gsc_state.grant(service_account["client_email"], args.property, PERMISSION)
    ads_state = google_ads.install_ads(fake)
    customer = google_ads.seed_demo(ads_state, args.customer_id)
    today = gsc_state.today

    stopped = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopped.set())
    with fake, fake_serpapi() as serpapi:
        line = {
            "url": fake.url,
            "service_account": service_account,
            "oauth": oauth,
            "gsc": gsc_expectations(gsc_state, args.property, today),
            "ads": ads_expectations(ads_state, customer, today),
            "serp": {"url": serpapi.url, "api_key": serpapi.api_key},
        }
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        stopped.wait()


if __name__ == "__main__":
    main()
