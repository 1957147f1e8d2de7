"""Google Ads tables and API schemas.

Data is kept per (project, customer id): a project that reconnects to another Ads account
keeps the old account's rows apart, and reads follow the connected customer. Cost is stored
as Google sends it, integer micros of the account's currency (`ads_accounts.currency_code`);
it becomes currency units only in `money.py`, on the way out.
"""

import datetime as dt
import re
import uuid
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import AfterValidator, StringConstraints
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.pagination import PagePublic

# --- Tables ----------------------------------------------------------------------------------


class AdsAccount(SQLModel, table=True):
    """A synced customer account: its currency and when it was last synced."""

    __tablename__ = "ads_accounts"

    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    customer_id: str = Field(max_length=10, primary_key=True)  # 10 digits
    currency_code: str = Field(max_length=3)  # ISO 4217, as the account reports it
    synced_at: dt.datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # When the first sync's whole range was stored; until then every sync is a first sync
    # (a backfill that failed half-way is done again, not taken for a daily one).
    backfilled_at: dt.datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class AdsCampaign(SQLModel, table=True):
    """A campaign's latest name and status (the metrics rows carry only its id)."""

    __tablename__ = "ads_campaigns"

    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    customer_id: str = Field(max_length=10, primary_key=True)
    campaign_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    name: str = Field(max_length=1024)
    status: str = Field(max_length=32)  # ENABLED | PAUSED | REMOVED | UNKNOWN | UNSPECIFIED
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class AdsCampaignDay(SQLModel, table=True):
    """One campaign's metrics on one day (the account's day), upserted by every sync."""

    __tablename__ = "ads_campaign_days"
    __table_args__ = (
        # The dashboard's reads: an account's days in a range, all campaigns together.
        sa.Index("ix_ads_campaign_days_account_date", "project_id", "customer_id", "date"),
    )

    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", primary_key=True)
    customer_id: str = Field(max_length=10, primary_key=True)
    campaign_id: int = Field(sa_type=sa.BigInteger, primary_key=True)
    date: dt.date = Field(primary_key=True)
    impressions: int = Field(default=0, sa_type=sa.BigInteger)
    clicks: int = Field(default=0, sa_type=sa.BigInteger)
    cost_micros: int = Field(default=0, sa_type=sa.BigInteger)
    conversions: float = Field(default=0.0, sa_type=sa.Double)
    conversions_value: float = Field(default=0.0, sa_type=sa.Double)
    synced_at: dt.datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


# --- Input -----------------------------------------------------------------------------------

_CUSTOMER_ID = re.compile(r"[0-9]{3}-[0-9]{3}-[0-9]{4}|[0-9]{10}")


def customer_digits(value: str) -> str:
    """A customer id as Google's API takes it (10 digits) from "123-456-7890" or digits."""
    text = value.strip()
    if not _CUSTOMER_ID.fullmatch(text):
        raise ValueError(
            "a Google Ads customer id is 10 digits, written 123-456-7890 or 1234567890"
        )
    return text.replace("-", "")


def format_customer_id(digits: str) -> str:
    """The way Google Ads shows a customer id: 123-456-7890."""
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


CustomerId = Annotated[str, AfterValidator(customer_digits)]
# Sent as an HTTP header: visible ASCII only (Google's tokens are letters, digits, - and _).
DeveloperToken = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$"
    ),
]


class AdsConnectionCreate(SQLModel):
    """`PUT /projects/{id}/ads/connection` (and the test's optional body). `credentials` is a
    service-account key or `{client_id, client_secret, refresh_token, token_uri?}`;
    `developer_token` and `credentials` are stored encrypted and never returned."""

    customer_id: CustomerId
    login_customer_id: CustomerId | None = None  # the manager account, when access is through one
    developer_token: DeveloperToken
    credentials: dict[str, Any]


AdsCampaignSort = Literal[
    "cost", "clicks", "impressions", "conversions", "conversions_value", "ctr", "cpc", "name"
]


class AdsSyncCreate(SQLModel):
    """`POST /projects/{id}/ads/sync`: `days` re-fetches a longer range than the daily one."""

    days: int | None = Field(default=None, ge=1)


# --- Output ----------------------------------------------------------------------------------


class AdsTotalsPublic(SQLModel):
    impressions: int
    clicks: int
    cost: float  # in the account's currency
    conversions: float
    conversions_value: float
    ctr: float  # clicks / impressions, 0 when there were none
    cpc: float | None  # cost / clicks, null when there were none


class AdsCampaignPublic(AdsTotalsPublic):
    campaign_id: str  # int64 as Google writes it (JavaScript numbers lose digits past 2**53)
    name: str
    status: str


class AdsCampaignsPublic(PagePublic):
    data: list[AdsCampaignPublic]
    totals: AdsTotalsPublic
    currency: str | None  # null until the first sync


class AdsDayPublic(SQLModel):
    date: dt.date
    impressions: int
    clicks: int
    cost: float
    conversions: float
    conversions_value: float


class AdsMetricsPublic(SQLModel):
    daily: list[AdsDayPublic]  # every day of the range, zeros where nothing ran
    totals: AdsTotalsPublic
    currency: str | None
