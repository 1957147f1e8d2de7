"""Search Console tables and API schemas.

Storage (docs/architecture.md; storage.py writes it): a property is a small integer
(`gsc_sites.id`), queries and pages are dictionary-encoded per property (`gsc_queries`,
`gsc_pages`), so a row of `gsc_rows` is a few fixed-width columns under one primary key
(site, type, date, query, page, country, device) that is also the upsert's conflict target
and the index every date-range read walks. `gsc_totals` holds the property-level totals per
day (no query/page dimension: nothing anonymised is lost), which the daily chart reads.
`gsc_days` records each synced day: provisional or final, and when (backfills resume from it),
and its pages as written (a re-sync skips the unchanged ones).
`gsc_query_days` and `gsc_page_days` are the rows summed per query (page) and day, rewritten
with each day that changed: the top lists of a 90-day range read them, not the rows.
"""

import datetime as dt
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlmodel import Field, SQLModel

from app.core.db import utcnow

# Search types as stored (gsc_*.search_type is the index in this tuple).
SEARCH_TYPES: tuple[str, ...] = ("web", "image", "video", "news", "discover", "googleNews")
DEVICES: tuple[str, ...] = ("DESKTOP", "MOBILE", "TABLET")

# Key text compares byte-wise (collation "C"): keys are only matched, never sorted for people,
# and a primary key of a million rows a day compares them on every insert.
KEY_TEXT = sa.String(length=8, collation="C")


class GscSite(SQLModel, table=True):
    """A Search Console property as a project has synced it."""

    __tablename__ = "gsc_sites"
    __table_args__ = (sa.UniqueConstraint("project_id", "property"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    property: str = Field(max_length=2048)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class GscDay(SQLModel, table=True):
    """One synced (property, type, day): provisional until Google calls the day final."""

    __tablename__ = "gsc_days"

    site_id: int = Field(foreign_key="gsc_sites.id", ondelete="CASCADE", primary_key=True)
    search_type: int = Field(sa_type=sa.SmallInteger, primary_key=True)
    date: dt.date = Field(primary_key=True)
    provisional: bool
    row_count: int
    synced_at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))
    # The pages of rows as last written: rows in each and a digest of each as Google sent it
    # (storage.py skips a page sent again unchanged); none when the rows stored are not
    # exactly those pages' rows (a key sent twice).
    page_rows: list[int] | None = Field(default=None, sa_type=postgresql.ARRAY(sa.Integer))
    page_digests: list[bytes] | None = Field(default=None, sa_type=postgresql.ARRAY(sa.LargeBinary))


class GscTotal(SQLModel, table=True):
    """Property-level totals of a day by country and device."""

    __tablename__ = "gsc_totals"

    site_id: int = Field(foreign_key="gsc_sites.id", ondelete="CASCADE", primary_key=True)
    search_type: int = Field(sa_type=sa.SmallInteger, primary_key=True)
    date: dt.date = Field(primary_key=True)
    country: str = Field(sa_type=KEY_TEXT, primary_key=True)
    device: str = Field(sa_type=KEY_TEXT, primary_key=True)
    clicks: int
    impressions: int
    position: float


class GscQuery(SQLModel, table=True):
    """A query of a property (dictionary-encoded in the rows). No foreign key, as gsc_rows:
    a day's bulk load adds thousands a page; a deleted property's are removed by the
    retention rule (service.purge_orphan_rows)."""

    __tablename__ = "gsc_queries"
    __table_args__ = (sa.UniqueConstraint("site_id", "query"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int
    query: str = Field(sa_type=sa.Text(collation="C"))


class GscPage(SQLModel, table=True):
    """A page of a property (as GscQuery)."""

    __tablename__ = "gsc_pages"
    __table_args__ = (sa.UniqueConstraint("site_id", "page"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int
    page: str = Field(sa_type=sa.Text(collation="C"))


class GscRow(SQLModel, table=True):
    """One row of searchAnalytics.query (dimensions date, query, page, country, device).

    No foreign keys: a bulk load of a million rows would run a referential check per row.
    Rows of a deleted property are removed by the retention rule (service.purge_orphan_rows).
    """

    __tablename__ = "gsc_rows"

    site_id: int = Field(primary_key=True)
    search_type: int = Field(sa_type=sa.SmallInteger, primary_key=True)
    date: dt.date = Field(primary_key=True)
    query_id: int = Field(primary_key=True)
    page_id: int = Field(primary_key=True)
    country: str = Field(sa_type=KEY_TEXT, primary_key=True)
    device: str = Field(sa_type=KEY_TEXT, primary_key=True)
    clicks: int
    impressions: int
    position: float


class GscQueryDay(SQLModel, table=True):
    """A query's day summed over pages, countries and devices (written with the day): what
    top queries and a query's series read when no country or device is asked for, a fraction
    of the rows to sum."""

    __tablename__ = "gsc_query_days"

    site_id: int = Field(primary_key=True)
    search_type: int = Field(sa_type=sa.SmallInteger, primary_key=True)
    date: dt.date = Field(primary_key=True)
    query_id: int = Field(primary_key=True)
    clicks: int
    impressions: int
    position: float  # impressions-weighted


class GscPageDay(SQLModel, table=True):
    """A page's day summed over queries, countries and devices (as GscQueryDay)."""

    __tablename__ = "gsc_page_days"

    site_id: int = Field(primary_key=True)
    search_type: int = Field(sa_type=sa.SmallInteger, primary_key=True)
    date: dt.date = Field(primary_key=True)
    page_id: int = Field(primary_key=True)
    clicks: int
    impressions: int
    position: float


# --- API schemas -----------------------------------------------------------------------------


class GscConnectionCreate(SQLModel):
    """`property`: `sc-domain:example.com` or a URL prefix such as `https://www.example.com/`.
    `credentials`: a service-account key (JSON) or `{client_id, client_secret, refresh_token,
    token_uri?}`; stored encrypted, never returned."""

    property: str = Field(min_length=1, max_length=2048)
    credentials: dict[str, Any]


class GscConnectionTest(SQLModel):
    """Test before saving (both given), or the stored connection (body omitted)."""

    property: str | None = Field(default=None, min_length=1, max_length=2048)
    credentials: dict[str, Any] | None = None


class GscBackfillCreate(SQLModel):
    days: int | None = Field(default=None, ge=1)


class MetricPoint(SQLModel):
    date: dt.date
    clicks: int
    impressions: int
    ctr: float
    position: float
    provisional: bool = False


class MetricTotals(SQLModel):
    clicks: int
    impressions: int
    ctr: float
    position: float


class GscPeriodPublic(SQLModel):
    start: dt.date
    end: dt.date
    daily: list[MetricPoint]
    totals: MetricTotals


class GscMetricsPublic(GscPeriodPublic):
    """The range's daily series and totals, and the same-length period just before it."""

    previous: GscPeriodPublic


class GscQueryRow(SQLModel):
    query: str
    clicks: int
    impressions: int
    ctr: float
    position: float


class GscQueriesPublic(SQLModel):
    data: list[GscQueryRow]
    count: int


class GscPageRow(SQLModel):
    page: str
    clicks: int
    impressions: int
    ctr: float
    position: float


class GscPagesPublic(SQLModel):
    data: list[GscPageRow]
    count: int


class GscSeriesPublic(SQLModel):
    daily: list[MetricPoint]
