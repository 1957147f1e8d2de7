"""Storing a campaign report: a range of days of one account, replaced in one transaction.

The rows go by COPY into a temporary table, then three set statements: the campaigns'
latest names and statuses, the day rows upserted with ON CONFLICT (changed numbers replace
the old, unchanged rows are not rewritten), and the deletion of the range's rows Google no
longer reports (a campaign-day without metrics is not in the report). No row-by-row ORM; any
re-run of the same report leaves the same rows and changes none.
"""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from app.ads.client import CampaignDay
from app.core.db import driver_connection, utcnow

_INCOMING = """
CREATE TEMPORARY TABLE ads_incoming (
    campaign_id bigint NOT NULL,
    date date NOT NULL,
    name text NOT NULL,
    status text NOT NULL,
    impressions bigint NOT NULL,
    clicks bigint NOT NULL,
    cost_micros bigint NOT NULL,
    conversions double precision NOT NULL,
    conversions_value double precision NOT NULL
) ON COMMIT DROP
"""

_COPY = (
    "COPY ads_incoming (campaign_id, date, name, status, impressions, clicks, cost_micros,"
    " conversions, conversions_value) FROM STDIN"
)

_CAMPAIGNS = """
INSERT INTO ads_campaigns (project_id, customer_id, campaign_id, name, status, updated_at)
SELECT DISTINCT ON (campaign_id) %(project_id)s, %(customer_id)s, campaign_id, name, status,
       %(now)s
FROM ads_incoming
ORDER BY campaign_id, date DESC
ON CONFLICT (project_id, customer_id, campaign_id) DO UPDATE
SET name = EXCLUDED.name, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at
WHERE (ads_campaigns.name, ads_campaigns.status) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.status)
"""

_DAYS = """
INSERT INTO ads_campaign_days AS d (project_id, customer_id, campaign_id, date, impressions,
    clicks, cost_micros, conversions, conversions_value, synced_at)
SELECT DISTINCT ON (campaign_id, date) %(project_id)s, %(customer_id)s, campaign_id, date,
       impressions, clicks, cost_micros, conversions, conversions_value, %(now)s
FROM ads_incoming
ORDER BY campaign_id, date
ON CONFLICT (project_id, customer_id, campaign_id, date) DO UPDATE
SET impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks,
    cost_micros = EXCLUDED.cost_micros, conversions = EXCLUDED.conversions,
    conversions_value = EXCLUDED.conversions_value, synced_at = EXCLUDED.synced_at
WHERE (d.impressions, d.clicks, d.cost_micros, d.conversions, d.conversions_value)
      IS DISTINCT FROM (EXCLUDED.impressions, EXCLUDED.clicks, EXCLUDED.cost_micros,
                        EXCLUDED.conversions, EXCLUDED.conversions_value)
RETURNING (xmax = 0) AS inserted
"""

_GONE = """
DELETE FROM ads_campaign_days AS d
WHERE d.project_id = %(project_id)s AND d.customer_id = %(customer_id)s
  AND d.date BETWEEN %(start)s AND %(end)s
  AND NOT EXISTS (
      SELECT 1 FROM ads_incoming i WHERE i.campaign_id = d.campaign_id AND i.date = d.date)
"""

_ACCOUNT = """
INSERT INTO ads_accounts (project_id, customer_id, currency_code, synced_at)
VALUES (%(project_id)s, %(customer_id)s, %(currency)s, %(now)s)
ON CONFLICT (project_id, customer_id) DO UPDATE
SET currency_code = CASE WHEN EXCLUDED.currency_code = '' THEN ads_accounts.currency_code
                         ELSE EXCLUDED.currency_code END,
    synced_at = EXCLUDED.synced_at
"""


@dataclass(slots=True)
class StoredRange:
    """What storing one range did: rows received, and how many were new, changed or gone."""

    received: int = 0
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    currency: str = ""


def _clean(text: str, limit: int) -> str:
    return text.replace("\x00", "")[:limit]


def store_range(
    session: Session,
    *,
    project_id: uuid.UUID,
    customer_id: str,
    start: date,
    end: date,
    batches: Iterable[list[CampaignDay]],
) -> StoredRange:
    """Replaces the account's rows from `start` to `end` with the report's, and commits.
    `batches` is consumed inside the transaction (each batch is copied as it arrives)."""
    stored = StoredRange()
    params = {"project_id": project_id, "customer_id": customer_id, "now": utcnow()}
    try:
        connection = driver_connection(session)
        with connection.cursor() as cursor:
            cursor.execute(_INCOMING)
            for batch in batches:
                with cursor.copy(_COPY) as copy:
                    for row in batch:
                        copy.write_row(
                            (
                                row.campaign_id,
                                row.day,
                                _clean(row.name, 1024),
                                _clean(row.status, 32),
                                row.impressions,
                                row.clicks,
                                row.cost_micros,
                                row.conversions,
                                row.conversions_value,
                            )
                        )
                        if row.currency_code:
                            stored.currency = _clean(row.currency_code, 3)
                stored.received += len(batch)
            cursor.execute(_CAMPAIGNS, params)
            cursor.execute(_DAYS, params)
            for (inserted,) in cursor.fetchall():
                if inserted:
                    stored.inserted += 1
                else:
                    stored.updated += 1
            cursor.execute(_GONE, {**params, "start": start, "end": end})
            stored.deleted = cursor.rowcount
            cursor.execute(_ACCOUNT, {**params, "currency": stored.currency})
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return stored
