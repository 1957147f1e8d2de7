"""What the dashboard reads: the daily series (from the property totals), top queries and
pages for a range, and one query's or page's series. All of them walk the primary keys'
(site, type, date) prefix for the range; without a country or device filter, the top lists
and series sum the per-day sums (gsc_query_days, gsc_page_days) instead of the rows."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlmodel import Session

from app.gsc.models import MetricPoint, MetricTotals

SortKey = Literal["clicks", "impressions", "ctr", "position"]
Dimension = Literal["query", "page"]


@dataclass(frozen=True, slots=True)
class Scope:
    """A property, search type and date range, with optional country/device filters."""

    site_id: int
    type_code: int
    start: dt.date
    end: dt.date
    country: str | None = None
    device: str | None = None

    def params(self) -> dict[str, Any]:
        return {
            "site": self.site_id,
            "type": self.type_code,
            "start": self.start,
            "end": self.end,
            "country": self.country,
            "device": self.device,
        }

    def filters(self, alias: str) -> str:
        sql = ""
        if self.country is not None:
            sql += f" AND {alias}.country = :country"
        if self.device is not None:
            sql += f" AND {alias}.device = :device"
        return sql


def _ctr(clicks: int, impressions: int) -> float:
    return clicks / impressions if impressions else 0.0


def _point(
    day: dt.date, clicks: Any, impressions: Any, weighted: Any, provisional: bool
) -> MetricPoint:
    clicks, impressions = int(clicks or 0), int(impressions or 0)
    return MetricPoint(
        date=day,
        clicks=clicks,
        impressions=impressions,
        ctr=_ctr(clicks, impressions),
        position=float(weighted) / impressions if impressions and weighted is not None else 0.0,
        provisional=bool(provisional),
    )


def totals_of(points: Sequence[MetricPoint]) -> MetricTotals:
    clicks = sum(p.clicks for p in points)
    impressions = sum(p.impressions for p in points)
    weighted = sum(p.position * p.impressions for p in points)
    return MetricTotals(
        clicks=clicks,
        impressions=impressions,
        ctr=_ctr(clicks, impressions),
        position=weighted / impressions if impressions else 0.0,
    )


def latest_day(session: Session, *, site_id: int, type_code: int) -> dt.date | None:
    value = session.execute(
        sa.text("SELECT max(date) FROM gsc_days WHERE site_id = :site AND search_type = :type"),
        {"site": site_id, "type": type_code},
    ).scalar()
    return value


def daily(session: Session, scope: Scope) -> list[MetricPoint]:
    """One point per synced day of the range (a synced day without data is zero)."""
    rows = session.execute(
        sa.text(f"""
        SELECT d.date, t.clicks, t.impressions, t.weighted, d.provisional
        FROM gsc_days d
        LEFT JOIN (
            SELECT date, sum(clicks) AS clicks, sum(impressions) AS impressions,
                   sum(position * impressions) AS weighted
            FROM gsc_totals t
            WHERE site_id = :site AND search_type = :type AND date BETWEEN :start AND :end
                  {scope.filters("t")}
            GROUP BY date
        ) t ON t.date = d.date
        WHERE d.site_id = :site AND d.search_type = :type AND d.date BETWEEN :start AND :end
        ORDER BY d.date
        """),  # noqa: S608 - the filters are constants
        scope.params(),
    ).all()
    return [_point(*row) for row in rows]


_DIMENSIONS: dict[str, tuple[str, str, str]] = {
    "query": ("gsc_queries", "query", "query_id"),
    "page": ("gsc_pages", "page", "page_id"),
}


def _source(scope: Scope, dimension: Dimension) -> str:
    """The rows to sum: the per-day sums of the dimension unless a country or device is
    asked for (those need the rows themselves)."""
    if scope.country is None and scope.device is None:
        return "gsc_query_days" if dimension == "query" else "gsc_page_days"
    return "gsc_rows"


_ORDER = {
    "clicks": "clicks",
    "impressions": "impressions",
    "ctr": "clicks::float8 / nullif(impressions, 0)",
    "position": "weighted / nullif(impressions, 0)",
}


def top(
    session: Session,
    scope: Scope,
    *,
    dimension: Dimension,
    search: str | None,
    sort: SortKey,
    descending: bool,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Queries (or pages) of the range with their clicks, impressions, CTR and average
    position (impressions-weighted), sorted and paged; and how many there are."""
    table, column, key = _DIMENSIONS[dimension]
    source = _source(scope, dimension)
    params = scope.params()
    matching = ""
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        params["search"] = f"%{escaped}%"
        # Identifiers are constants of this module; the text is a parameter.
        matching = f" AND r.{key} IN (SELECT id FROM {table} WHERE site_id = :site AND {column} ILIKE :search)"  # noqa: E501, S608
    direction = "DESC" if descending else "ASC"
    params.update(limit=limit, offset=offset)
    rows = session.execute(
        sa.text(f"""
        WITH grouped AS (
            SELECT r.{key} AS id, sum(r.clicks) AS clicks, sum(r.impressions) AS impressions,
                   sum(r.position * r.impressions) AS weighted
            FROM {source} r
            WHERE r.site_id = :site AND r.search_type = :type
                  AND r.date BETWEEN :start AND :end {scope.filters("r")} {matching}
            GROUP BY r.{key}
        ), ranked AS (
            SELECT id, clicks, impressions, weighted, count(*) OVER () AS total
            FROM grouped
            ORDER BY {_ORDER[sort]} {direction} NULLS LAST, id
            LIMIT :limit OFFSET :offset
        )
        SELECT d.{column}, ranked.clicks, ranked.impressions, ranked.weighted, ranked.total
        FROM ranked JOIN {table} d ON d.id = ranked.id
        ORDER BY {_ORDER[sort]} {direction} NULLS LAST, ranked.id
        """),  # noqa: S608 - identifiers and orderings are constants
        params,
    ).all()
    total = int(rows[0][4]) if rows else 0
    if not rows and offset:
        total = int(
            session.execute(
                sa.text(f"""
                SELECT count(DISTINCT r.{key}) FROM {source} r
                WHERE r.site_id = :site AND r.search_type = :type
                      AND r.date BETWEEN :start AND :end {scope.filters("r")} {matching}
                """),  # noqa: S608 - constants
                params,
            ).scalar()
            or 0
        )
    data = []
    for name, clicks, impressions, weighted, _ in rows:
        clicks, impressions = int(clicks), int(impressions)
        data.append(
            {
                column: name,
                "clicks": clicks,
                "impressions": impressions,
                "ctr": _ctr(clicks, impressions),
                "position": float(weighted) / impressions if impressions else 0.0,
            }
        )
    return data, total


def series(
    session: Session, scope: Scope, *, dimension: Dimension, value: str
) -> list[MetricPoint]:
    """One query's (or page's) daily clicks, impressions, CTR and position."""
    table, column, key = _DIMENSIONS[dimension]
    source = _source(scope, dimension)
    params = {**scope.params(), "value": value}
    rows = session.execute(
        sa.text(f"""
        SELECT d.date, s.clicks, s.impressions, s.weighted, d.provisional
        FROM gsc_days d
        LEFT JOIN (
            SELECT r.date, sum(r.clicks) AS clicks, sum(r.impressions) AS impressions,
                   sum(r.position * r.impressions) AS weighted
            FROM {source} r
            WHERE r.site_id = :site AND r.search_type = :type
                  AND r.date BETWEEN :start AND :end {scope.filters("r")}
                  AND r.{key} = (SELECT id FROM {table} WHERE site_id = :site
                                 AND {column} = :value)
            GROUP BY r.date
        ) s ON s.date = d.date
        WHERE d.site_id = :site AND d.search_type = :type AND d.date BETWEEN :start AND :end
        ORDER BY d.date
        """),  # noqa: S608 - constants
        params,
    ).all()
    return [_point(*row) for row in rows]
