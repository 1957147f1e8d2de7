"""Search Console: connecting a property, starting syncs and backfills, running them (for the
tasks), and the reads the dashboard charts (reads.py)."""

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from app.connections import google
from app.connections import service as connections_service
from app.connections.models import ConnectionTestPublic, ProviderConnection
from app.core.config import settings
from app.core.db import utcnow
from app.core.hosts import normalize_host
from app.gsc import reads, sync
from app.gsc.client import ROW_LIMIT, SearchConsoleClient
from app.gsc.domain import GSC_BACKFILL_JOB, GSC_SYNC_JOB, PROVIDER
from app.gsc.models import (
    SEARCH_TYPES,
    GscConnectionCreate,
    GscConnectionTest,
    GscMetricsPublic,
    GscPageRow,
    GscPagesPublic,
    GscPeriodPublic,
    GscQueriesPublic,
    GscQueryRow,
    GscSeriesPublic,
    GscSite,
)
from app.jobs import service as jobs_service
from app.jobs.errors import PermanentJobError, TransientJobError
from app.jobs.models import JobPriority, JobRun
from app.projects.models import Project
from app.users.models import User

SYNC_STAGE = "sync"
BACKFILL_STAGE = "backfill"
NOT_CONNECTED = "Search Console is not connected"
# Permission levels that can read Search Analytics (siteUnverifiedUser cannot).
READABLE_LEVELS = frozenset({"siteOwner", "siteFullUser", "siteRestrictedUser"})

ACCOUNT_MAX_CHARS = 512  # provider_connections.account
_DOMAIN_PROPERTY = re.compile(r"sc-domain:(.+)")


class NotConnectedError(Exception):
    """The project has no Search Console connection."""


# --- Connections -----------------------------------------------------------------------------


def parse_property(value: str) -> str:
    """`sc-domain:example.com` (host lower-cased) or a URL prefix kept exactly as given
    (scheme, host, path with its trailing slash: Google names the property by it). Raises
    ValueError with what is wrong."""
    value = value.strip()
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError("property must not contain spaces or control characters")
    domain = _DOMAIN_PROPERTY.fullmatch(value)
    if domain:
        host = normalize_host(domain.group(1))
        if host is None or "." not in host:
            raise ValueError(f"{value!r} does not name a domain (sc-domain:example.com)")
        return f"sc-domain:{host}"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "property must be sc-domain:<domain> or a URL prefix such as https://www.example.com/"
        )
    if parts.query or parts.fragment or not parts.path.endswith("/"):
        raise ValueError(
            f"a URL-prefix property ends with '/' and has no query or fragment: {value!r}"
        )
    return value


def connect(*, session: Session, project: Project, body: GscConnectionCreate) -> ProviderConnection:
    """Saves (or replaces) the project's property and credential. Raises ValueError
    (google.CredentialInvalidError included) for input to fix."""
    site_url = parse_property(body.property)
    credential = google.parse_credential(body.credentials)
    # What is stored in the clear must fit its column and be text PostgreSQL can hold.
    if "\x00" in credential.account or len(credential.account) > ACCOUNT_MAX_CHARS:
        raise google.CredentialInvalidError("the credential's client id or email is not valid")
    return connections_service.save_connection(
        session=session,
        project=project,
        provider=PROVIDER,
        target=site_url,
        account=credential.account,
        secret=credential.info,
    )


def get_connection(*, session: Session, project: Project) -> ProviderConnection | None:
    return connections_service.get_connection(
        session=session, project_id=project.id, provider=PROVIDER
    )


def _http_client() -> httpx.Client:
    return httpx.Client(timeout=settings.PROVIDER_HTTP_TIMEOUT)


def check_connection(
    *,
    session: Session,
    project: Project,
    body: GscConnectionTest | None = None,
    http: httpx.Client | None = None,
) -> ConnectionTestPublic:
    """Lists the credential's sites: ok when the property is among them with a level that
    reads data. Google's refusals are answers (ok false, what to fix), not errors. Tests the
    property and credential given, or the stored ones when neither is. Raises
    NotConnectedError without either and a stored connection, ValueError for bad input."""
    property = body.property if body else None
    credentials = body.credentials if body else None
    if property is None and credentials is None:
        stored = get_connection(session=session, project=project)
        if stored is None:
            raise NotConnectedError(NOT_CONNECTED)
        site_url = stored.target
        credential = google.parse_credential(connections_service.read_secret(stored))
    elif property is None or credentials is None:
        raise ValueError("give both property and credentials, or neither to test the stored one")
    else:
        site_url = parse_property(property)
        credential = google.parse_credential(credentials)
    owned = http is None
    client = http or _http_client()
    try:
        sites = SearchConsoleClient(credential=credential, client=client).list_sites()
    except (PermanentJobError, TransientJobError) as exc:
        return ConnectionTestPublic(ok=False, detail=str(exc))
    finally:
        if owned:
            client.close()
    levels = {site.site_url: site.permission_level for site in sites}
    level = levels.get(site_url)
    if level is None:
        return ConnectionTestPublic(
            ok=False,
            detail=f"{site_url} is not among the properties {credential.account} can see: "
            f"add {credential.account} as a user of the property in Search Console, or "
            "choose one of these",
            choices=sorted(levels),
        )
    if level not in READABLE_LEVELS:
        return ConnectionTestPublic(
            ok=False,
            detail=f"{credential.account} is {level} on {site_url}: verify the property or "
            "ask its owner for access",
            choices=sorted(s for s, lv in levels.items() if lv in READABLE_LEVELS),
        )
    return ConnectionTestPublic(ok=True, detail=f"{site_url}: {level} ({credential.account})")


# --- Starting jobs ---------------------------------------------------------------------------


def _require_connection(session: Session, project: Project) -> ProviderConnection:
    connection = get_connection(session=session, project=project)
    if connection is None:
        raise NotConnectedError(NOT_CONNECTED)
    return connection


def start_sync(
    *, session: Session, project: Project, user: User | None, search_type: str = "web"
) -> tuple[JobRun, bool]:
    """The project's daily sync now, or its active one (created=False)."""
    _require_connection(session, project)
    return jobs_service.start_job(
        session=session,
        job_type=GSC_SYNC_JOB,
        stage=SYNC_STAGE,
        project=project,
        user=user,
        priority=JobPriority.interactive,
        config={"search_type": search_type},
        dedupe_key=f"{GSC_SYNC_JOB}:{project.id}",
    )


def start_scheduled_sync(session: Session, project: Project) -> tuple[JobRun, bool]:
    """Beat's start: one sync per project per UTC day, however many times Beat fires."""
    return jobs_service.start_job(
        session=session,
        job_type=GSC_SYNC_JOB,
        stage=SYNC_STAGE,
        project=project,
        user=None,
        priority=JobPriority.scheduled,
        config={"search_type": "web", "scheduled": True},
        dedupe_key=jobs_service.day_dedupe_key(GSC_SYNC_JOB, project.id),
        once=True,
    )


def sync_all_properties(*, session: Session) -> connections_service.FanOutResult:
    return connections_service.fan_out(
        session=session, provider=PROVIDER, start=start_scheduled_sync
    )


def start_backfill(
    *,
    session: Session,
    project: Project,
    user: User | None,
    days: int | None = None,
    search_type: str = "web",
) -> tuple[JobRun, bool]:
    """A backfill of `days` days (default and most: GSC_BACKFILL_MAX_DAYS) ending yesterday,
    or the project's active one. Raises ValueError beyond the limit."""
    limit = settings.GSC_BACKFILL_MAX_DAYS
    days = limit if days is None else days
    if not 1 <= days <= limit:
        raise ValueError(f"days must be between 1 and {limit} (16 months)")
    _require_connection(session, project)
    now = utcnow()
    return jobs_service.start_job(
        session=session,
        job_type=GSC_BACKFILL_JOB,
        stage=BACKFILL_STAGE,
        project=project,
        user=user,
        priority=JobPriority.bulk,
        config={
            "days": days,
            "end": (now.date() - dt.timedelta(days=1)).isoformat(),
            "since": now.isoformat(),  # days synced after this are not fetched again
            "search_type": search_type,
        },
        dedupe_key=f"{GSC_BACKFILL_JOB}:{project.id}",
    )


# --- Running jobs (the tasks' bodies call these) ---------------------------------------------


def site_for(*, session: Session, project_id: uuid.UUID, property: str) -> GscSite:
    """The property's row (created on first sync)."""
    session.execute(
        insert(GscSite)
        .values(project_id=project_id, property=property, created_at=utcnow())
        .on_conflict_do_nothing(constraint="uq_gsc_sites_project_id")
    )
    session.commit()
    site = session.exec(
        select(GscSite).where(
            col(GscSite.project_id) == project_id, col(GscSite.property) == property
        )
    ).one()
    return site


def _prepare(
    session: Session, project_id: uuid.UUID, config: Mapping[str, Any], http: httpx.Client
) -> tuple[SearchConsoleClient, sync.SyncTarget]:
    connection = connections_service.get_connection(
        session=session, project_id=project_id, provider=PROVIDER
    )
    if connection is None:
        raise PermanentJobError(
            f"{NOT_CONNECTED} for this project any more", category="invalid_input"
        )
    search_type = str(config.get("search_type") or "web")
    if search_type not in SEARCH_TYPES:
        raise PermanentJobError(f"unknown search type {search_type!r}", category="invalid_input")
    credential = google.parse_credential(connections_service.read_secret(connection))
    site = site_for(session=session, project_id=project_id, property=connection.target)
    assert site.id is not None
    # No checkpoint inside the client: its calls run in the prefetch thread (sync.prefetched),
    # and a job's checkpoint belongs to the job's own thread; the sync checks between pages.
    client = SearchConsoleClient(credential=credential, client=http)
    return client, sync.SyncTarget(site.id, connection.target, search_type)


def run_sync(
    *,
    session: Session,
    project_id: uuid.UUID,
    config: Mapping[str, Any],
    progress: sync.Progress,
    checkpoint: Callable[[], None],
    today: dt.date | None = None,
    http: httpx.Client | None = None,
    row_limit: int = ROW_LIMIT,
) -> dict[str, Any]:
    """The daily sync: the last days again, provisional days until final, missed days."""
    with http or _http_client() as client_http:
        client, target = _prepare(session, project_id, config, client_http)
        days = sync.daily_plan(session=session, target=target, today=today or utcnow().date())
        report = sync.run_days(
            session=session,
            client=client,
            target=target,
            days=days,
            done=set(),
            progress=progress,
            checkpoint=checkpoint,
            row_limit=row_limit,
        )
    return report.as_result(property=target.site_url, retries=client.retries)


def run_backfill(
    *,
    session: Session,
    project_id: uuid.UUID,
    config: Mapping[str, Any],
    progress: sync.Progress,
    checkpoint: Callable[[], None],
    http: httpx.Client | None = None,
    row_limit: int = ROW_LIMIT,
) -> dict[str, Any]:
    """Day by day, newest first; a re-run of the job (retry, rescue, resume) skips the days
    it already finished."""
    days = sync.backfill_plan(
        end=dt.date.fromisoformat(str(config["end"])), days=int(config["days"])
    )
    since = dt.datetime.fromisoformat(str(config["since"]))
    with http or _http_client() as client_http:
        client, target = _prepare(session, project_id, config, client_http)
        done = sync.finished_since(session=session, target=target, days=days, since=since)
        report = sync.run_days(
            session=session,
            client=client,
            target=target,
            days=days,
            done=done,
            progress=progress,
            checkpoint=checkpoint,
            row_limit=row_limit,
        )
    return report.as_result(property=target.site_url, retries=client.retries)


# --- Reading ---------------------------------------------------------------------------------

DEFAULT_RANGE_DAYS = 28
# Search Console keeps 16 months; dates far outside any data are refused, not computed with.
EARLIEST_DATE = dt.date(2000, 1, 1)
LATEST_DATE = dt.date(2999, 12, 31)


def _check_text(name: str, value: str | None) -> None:
    if value is not None and "\x00" in value:
        raise ValueError(f"{name} must not contain NUL characters")


def _scope(
    session: Session,
    project: Project,
    *,
    start: dt.date | None,
    end: dt.date | None,
    search_type: str,
    country: str | None,
    device: str | None,
) -> reads.Scope:
    """The read's scope on the connected property (site 0, which holds nothing, before the
    first sync). Raises NotConnectedError, ValueError for a range or filter to fix."""
    for day in (start, end):
        if day is not None and not EARLIEST_DATE <= day <= LATEST_DATE:
            raise ValueError(f"dates must lie between {EARLIEST_DATE} and {LATEST_DATE}")
    connection = _require_connection(session, project)
    if search_type not in SEARCH_TYPES:
        raise ValueError(f"type must be one of {', '.join(SEARCH_TYPES)}")
    site = session.exec(
        select(GscSite).where(
            col(GscSite.project_id) == project.id, col(GscSite.property) == connection.target
        )
    ).first()
    type_code = SEARCH_TYPES.index(search_type)
    if end is None:
        latest = None
        if site is not None and site.id is not None:
            latest = reads.latest_day(session, site_id=site.id, type_code=type_code)
        end = latest or utcnow().date() - dt.timedelta(days=1)
    if start is None:
        start = end - dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
    if start > end:
        raise ValueError("start must be on or before end")
    limit = settings.GSC_BACKFILL_MAX_DAYS
    if (end - start).days + 1 > limit:
        raise ValueError(f"a range spans at most {limit} days (16 months)")
    if site is None or site.id is None:
        return reads.Scope(0, type_code, start, end, country, device)
    return reads.Scope(site.id, type_code, start, end, country, device)


def metrics(
    *,
    session: Session,
    project: Project,
    start: dt.date | None = None,
    end: dt.date | None = None,
    search_type: str = "web",
    country: str | None = None,
    device: str | None = None,
) -> GscMetricsPublic:
    """The daily series of the range (default: the last 28 days with data) from the
    property totals, with the same-length period just before it."""
    scope = _scope(
        session,
        project,
        start=start,
        end=end,
        search_type=search_type,
        country=country,
        device=device,
    )
    length = scope.end - scope.start + dt.timedelta(days=1)
    before = reads.Scope(
        scope.site_id,
        scope.type_code,
        scope.start - length,
        scope.start - dt.timedelta(days=1),
        country,
        device,
    )
    current, previous = reads.daily(session, scope), reads.daily(session, before)
    return GscMetricsPublic(
        start=scope.start,
        end=scope.end,
        daily=current,
        totals=reads.totals_of(current),
        previous=GscPeriodPublic(
            start=before.start,
            end=before.end,
            daily=previous,
            totals=reads.totals_of(previous),
        ),
    )


def top_queries(
    *,
    session: Session,
    project: Project,
    start: dt.date | None = None,
    end: dt.date | None = None,
    search_type: str = "web",
    country: str | None = None,
    device: str | None = None,
    search: str | None = None,
    sort: reads.SortKey = "clicks",
    descending: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> GscQueriesPublic:
    scope = _scope(
        session,
        project,
        start=start,
        end=end,
        search_type=search_type,
        country=country,
        device=device,
    )
    _check_text("search", search)
    data, count = reads.top(
        session,
        scope,
        dimension="query",
        search=search,
        sort=sort,
        descending=descending,
        limit=limit,
        offset=offset,
    )
    return GscQueriesPublic(data=[GscQueryRow(**row) for row in data], count=count)


def top_pages(
    *,
    session: Session,
    project: Project,
    start: dt.date | None = None,
    end: dt.date | None = None,
    search_type: str = "web",
    country: str | None = None,
    device: str | None = None,
    search: str | None = None,
    sort: reads.SortKey = "clicks",
    descending: bool = True,
    limit: int = 100,
    offset: int = 0,
) -> GscPagesPublic:
    scope = _scope(
        session,
        project,
        start=start,
        end=end,
        search_type=search_type,
        country=country,
        device=device,
    )
    _check_text("search", search)
    data, count = reads.top(
        session,
        scope,
        dimension="page",
        search=search,
        sort=sort,
        descending=descending,
        limit=limit,
        offset=offset,
    )
    return GscPagesPublic(data=[GscPageRow(**row) for row in data], count=count)


def series(
    *,
    session: Session,
    project: Project,
    dimension: reads.Dimension,
    value: str,
    start: dt.date | None = None,
    end: dt.date | None = None,
    search_type: str = "web",
    country: str | None = None,
    device: str | None = None,
) -> GscSeriesPublic:
    scope = _scope(
        session,
        project,
        start=start,
        end=end,
        search_type=search_type,
        country=country,
        device=device,
    )
    _check_text(dimension, value)
    return GscSeriesPublic(daily=reads.series(session, scope, dimension=dimension, value=value))


# --- Retention -------------------------------------------------------------------------------

# The tables of a property's synced data without a foreign key to gsc_sites (a bulk load
# would check each row), all led by site_id: what the clean-up removes of deleted properties.
_ORPHAN_TABLES = ("gsc_rows", "gsc_query_days", "gsc_page_days", "gsc_queries", "gsc_pages")

# The site ids a table holds (a skip scan over its index led by site_id: one probe per
# property) whose property is gone.
_ORPHAN_SITES = """
WITH RECURSIVE sites(id) AS (
    (SELECT site_id FROM {table} ORDER BY site_id LIMIT 1)
    UNION ALL
    SELECT (SELECT site_id FROM {table} WHERE site_id > sites.id ORDER BY site_id LIMIT 1)
    FROM sites WHERE sites.id IS NOT NULL
)
SELECT id FROM sites WHERE id IS NOT NULL AND id NOT IN (SELECT id FROM gsc_sites)
"""

_DELETE_ORPHANS = """
DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid FROM {table}
                                           WHERE site_id = ANY(:sites) LIMIT :batch))
"""


def purge_orphan_rows(session: Session, batch: int) -> int:
    """Deletes at most `batch` rows of properties whose project was deleted: their rows, per-day
    sums, then query and page dictionaries (fewer than `batch` when none are left)."""
    removed = 0
    for table in _ORPHAN_TABLES:
        orphans = list(session.execute(sa.text(_ORPHAN_SITES.format(table=table))).scalars())
        if not orphans:
            continue
        result = session.execute(
            sa.text(_DELETE_ORPHANS.format(table=table)),
            {"sites": orphans, "batch": batch - removed},
        )
        removed += int(result.rowcount)  # type: ignore[attr-defined]
        if removed >= batch:
            break
    return removed
