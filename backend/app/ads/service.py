"""Google Ads: connecting an account, testing a connection, starting and running syncs, and
the dashboard's reads. No HTTP framework and no Celery here (docs/architecture.md).

A sync fetches the account's campaign report per day and replaces the stored days of its
range: the last RESYNC_DAYS days every day (Google revises recent numbers: late conversions,
invalid clicks), ADS_FIRST_SYNC_DAYS days when nothing of the account is stored yet, or the
days asked for (bounded by the same setting). It fetches CHUNK_DAYS days per call, oldest
first, committing each chunk, so progress counts real days and a retry after a failure
only costs the chunk it was in.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from app.ads import money, storage
from app.ads.client import AdsAccess, AdsClient
from app.ads.domain import ADS_PROVIDER, ADS_SYNC_JOB
from app.ads.models import (
    AdsAccount,
    AdsCampaign,
    AdsCampaignDay,
    AdsCampaignPublic,
    AdsCampaignSort,
    AdsCampaignsPublic,
    AdsConnectionCreate,
    AdsDayPublic,
    AdsMetricsPublic,
    AdsTotalsPublic,
    format_customer_id,
)
from app.connections import google
from app.connections import service as connections_service
from app.connections.models import ConnectionTestPublic, ProviderConnection
from app.core.config import settings
from app.core.db import utcnow
from app.core.pagination import PageRequest
from app.jobs import service as jobs_service
from app.jobs.errors import PermanentJobError, TransientJobError
from app.jobs.models import JobPriority, JobRun
from app.projects.models import Project
from app.users.models import User

SYNC_STAGE = "sync"
RESYNC_DAYS = 3
CHUNK_DAYS = 15
DEFAULT_RANGE_DAYS = 30
MAX_RANGE_DAYS = 731  # what one read may span
# The test connection answers a person waiting on a form: few retries, short waits.
TEST_MAX_RETRIES = 1
TEST_MAX_WAIT_SECONDS = 5.0

NOT_CONNECTED = "Google Ads is not connected"


class AdsNotConnectedError(LookupError):
    def __init__(self) -> None:
        super().__init__(f"{NOT_CONNECTED}: connect an account first")


class InvalidRangeError(ValueError):
    """A date range a read refuses (answered 422)."""


# --- Connections -----------------------------------------------------------------------------


def access_from_input(body: AdsConnectionCreate) -> AdsAccess:
    """The access a connection form describes; raises google.CredentialInvalidError (a
    ValueError) when the credential is not usable."""
    return AdsAccess(
        credential=google.parse_credential(body.credentials),
        developer_token=body.developer_token,
        login_customer_id=body.login_customer_id,
    )


def stored_access(connection: ProviderConnection) -> tuple[AdsAccess, str]:
    """The access of a saved connection, and its customer id (digits)."""
    secret = connections_service.read_secret(connection)
    login = connection.settings_json.get("login_customer_id")
    access = AdsAccess(
        credential=google.parse_credential(secret["credentials"]),
        developer_token=str(secret["developer_token"]),
        login_customer_id=str(login).replace("-", "") if login else None,
    )
    return access, connection.target.replace("-", "")


def connect(*, session: Session, project: Project, body: AdsConnectionCreate) -> ProviderConnection:
    """Saves (or replaces) the project's Ads connection; the secret part (developer token,
    credential) is encrypted. Raises google.CredentialInvalidError for a bad credential."""
    access = access_from_input(body)
    return connections_service.save_connection(
        session=session,
        project=project,
        provider=ADS_PROVIDER,
        target=format_customer_id(body.customer_id),
        # Shown, never secret; the column holds 512 characters and no NUL.
        account=access.credential.account.replace("\x00", "")[:512],
        secret={
            "developer_token": access.developer_token,
            "credentials": dict(access.credential.info),
        },
        settings={
            "login_customer_id": format_customer_id(body.login_customer_id)
            if body.login_customer_id
            else None
        },
    )


def get_connection(*, session: Session, project_id: uuid.UUID) -> ProviderConnection | None:
    return connections_service.get_connection(
        session=session, project_id=project_id, provider=ADS_PROVIDER
    )


def check_connection(
    *, session: Session, project: Project, body: AdsConnectionCreate | None
) -> ConnectionTestPublic:
    """Tries the connection given (before it is saved), else the stored one. Raises
    google.CredentialInvalidError for a form's unusable credential and AdsNotConnectedError
    without a form or a stored connection; a stored credential that no longer parses is an
    answer (ok false)."""
    if body is not None:
        return check_access(access=access_from_input(body), customer_id=body.customer_id)
    connection = get_connection(session=session, project_id=project.id)
    if connection is None:
        raise AdsNotConnectedError()
    try:
        access, customer_id = stored_access(connection)
    except google.CredentialInvalidError as exc:
        return ConnectionTestPublic(ok=False, detail=f"the stored credential: {exc}")
    return check_access(access=access, customer_id=customer_id)


def check_access(
    *, access: AdsAccess, customer_id: str, http: httpx.Client | None = None
) -> ConnectionTestPublic:
    """Asks Google which customers the credential reaches (listAccessibleCustomers). OK when
    the customer, or the manager account it is reached through, is among them; any error
    is an answer (ok false, with Google's message), never an exception."""
    owned = http is None
    client = http or httpx.Client(timeout=settings.PROVIDER_HTTP_TIMEOUT)
    try:
        ads = AdsClient(
            access, client, max_retries=TEST_MAX_RETRIES, max_wait=TEST_MAX_WAIT_SECONDS
        )
        accessible = ads.accessible_customers()
    except (PermanentJobError, TransientJobError) as exc:
        return ConnectionTestPublic(ok=False, detail=str(exc))
    finally:
        if owned:
            client.close()
    choices = [format_customer_id(c) if len(c) == 10 else c for c in accessible]
    customer = format_customer_id(customer_id)
    if customer_id in accessible:
        return ConnectionTestPublic(
            ok=True,
            detail=f"{access.credential.account} can reach customer {customer}",
            choices=choices,
        )
    login = access.login_customer_id
    if login and login in accessible:
        return ConnectionTestPublic(
            ok=True,
            detail=f"{access.credential.account} can reach manager account "
            f"{format_customer_id(login)}, through which customer {customer} is read",
            choices=choices,
        )
    return ConnectionTestPublic(
        ok=False,
        detail=f"{access.credential.account} cannot reach customer {customer}"
        + (f"; it can reach {', '.join(choices)}" if choices else "; it can reach no account")
        + " (set login_customer_id when access is through a manager account)",
        choices=choices,
    )


# --- Syncing ---------------------------------------------------------------------------------


def start_sync(
    *,
    session: Session,
    project: Project,
    user: User | None,
    days: int | None = None,
    priority: JobPriority = JobPriority.interactive,
) -> tuple[JobRun, bool]:
    """Starts the project's sync (or returns the active one). Raises AdsNotConnectedError."""
    if get_connection(session=session, project_id=project.id) is None:
        raise AdsNotConnectedError()
    return jobs_service.start_job(
        session=session,
        job_type=ADS_SYNC_JOB,
        stage=SYNC_STAGE,
        project=project,
        user=user,
        priority=priority,
        config={"days": min(days, settings.ADS_FIRST_SYNC_DAYS) if days else None},
        dedupe_key=f"{ADS_SYNC_JOB}:{project.id}",
    )


def start_first_sync(
    *, session: Session, project: Project, user: User | None
) -> tuple[JobRun, bool] | None:
    """On connecting: the first sync (the ADS_FIRST_SYNC_DAYS backfill) when nothing of the
    connected account is stored yet; None when there is."""
    connection = get_connection(session=session, project_id=project.id)
    if connection is None:
        raise AdsNotConnectedError()
    customer_id = connection.target.replace("-", "")
    if has_data(session=session, project_id=project.id, customer_id=customer_id):
        return None
    # A backfill of the account's history: bulk, like every backfill.
    return start_sync(session=session, project=project, user=user, priority=JobPriority.bulk)


def start_scheduled_sync(session: Session, project: Project) -> tuple[JobRun, bool]:
    """The daily sync of one project: once per project per UTC day, however often Beat fires."""
    return jobs_service.start_job(
        session=session,
        job_type=ADS_SYNC_JOB,
        stage=SYNC_STAGE,
        project=project,
        user=None,
        priority=JobPriority.scheduled,
        config={"days": None},
        dedupe_key=jobs_service.day_dedupe_key(ADS_SYNC_JOB, project.id),
        once=True,
    )


def start_scheduled_syncs(*, session: Session) -> connections_service.FanOutResult:
    return connections_service.fan_out(
        session=session, provider=ADS_PROVIDER, start=start_scheduled_sync
    )


def has_data(*, session: Session, project_id: uuid.UUID, customer_id: str) -> bool:
    """Whether the account's first sync (its backfill) was stored whole."""
    found = session.exec(
        select(AdsAccount.backfilled_at).where(
            col(AdsAccount.project_id) == project_id, col(AdsAccount.customer_id) == customer_id
        )
    ).first()
    return found is not None


def mark_backfilled(*, session: Session, project_id: uuid.UUID, customer_id: str) -> None:
    session.execute(
        sa.update(AdsAccount)
        .where(col(AdsAccount.project_id) == project_id, col(AdsAccount.customer_id) == customer_id)
        .values(backfilled_at=utcnow())
    )
    session.commit()


def sync_range(*, has_stored: bool, days: int | None, today: date) -> tuple[date, date]:
    """The days a sync fetches, `today` included (Google reports the day so far)."""
    if days is not None:
        count = max(1, min(days, settings.ADS_FIRST_SYNC_DAYS))
    else:
        count = RESYNC_DAYS if has_stored else settings.ADS_FIRST_SYNC_DAYS
    return today - timedelta(days=count - 1), today


def chunks(start: date, end: date, size: int = CHUNK_DAYS) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    first = start
    while first <= end:
        last = min(end, first + timedelta(days=size - 1))
        out.append((first, last))
        first = last + timedelta(days=1)
    return out


@dataclass(frozen=True, slots=True)
class SyncReporter:
    """How a sync reports: progress (a job's `progress`) and the cancel check."""

    progress: Callable[..., None]
    checkpoint: Callable[[], None]


def sync_account(
    *,
    session: Session,
    project_id: uuid.UUID,
    days: int | None,
    reporter: SyncReporter,
    http: httpx.Client | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    """Fetches and stores the connected account's report; returns the counts."""
    connection = get_connection(session=session, project_id=project_id)
    if connection is None:
        raise PermanentJobError(
            f"{NOT_CONNECTED} for this project (disconnected?): reconnect it",
            category="invalid_input",
        )
    try:
        access, customer_id = stored_access(connection)
    except google.CredentialInvalidError as exc:
        raise PermanentJobError(
            f"the stored credential is not usable ({exc}): reconnect", category="auth_failed"
        ) from exc
    first = not has_data(session=session, project_id=project_id, customer_id=customer_id)
    start, end = sync_range(has_stored=not first, days=days, today=today or utcnow().date())
    total_days = (end - start).days + 1
    owned = http is None
    client = http or httpx.Client(timeout=settings.PROVIDER_HTTP_TIMEOUT)
    result: dict[str, Any] = {
        "customer_id": format_customer_id(customer_id),
        "start": start.isoformat(),
        "end": end.isoformat(),
        "first_sync": first,
        "days": total_days,
        "rows": 0,
        "inserted": 0,
        "updated": 0,
        "deleted": 0,
        "currency": None,
    }
    try:
        ads = AdsClient(access, client, checkpoint=reporter.checkpoint)
        done = 0
        reporter.progress(pct=0, current=0, total=total_days, message=f"fetching {start} to {end}")
        for first_day, last_day in chunks(start, end):
            batches = list(ads.campaign_days(customer_id, first_day, last_day))
            reporter.checkpoint()
            stored = storage.store_range(
                session,
                project_id=project_id,
                customer_id=customer_id,
                start=first_day,
                end=last_day,
                batches=batches,
            )
            done += (last_day - first_day).days + 1
            result["rows"] += stored.received
            result["inserted"] += stored.inserted
            result["updated"] += stored.updated
            result["deleted"] += stored.deleted
            result["currency"] = stored.currency or result["currency"]
            reporter.progress(
                pct=100 * done / total_days,
                current=done,
                total=total_days,
                message=f"day {done} of {total_days}: {result['rows']} campaign-days",
            )
        if total_days >= settings.ADS_FIRST_SYNC_DAYS:
            mark_backfilled(session=session, project_id=project_id, customer_id=customer_id)
        result["retries"] = ads.session.retries
    finally:
        if owned:
            client.close()
    return result


# --- Reads -----------------------------------------------------------------------------------


def read_range(
    start: date | None, end: date | None, *, today: date | None = None
) -> tuple[date, date]:
    """A read's range: `end` defaults to today, `start` to DEFAULT_RANGE_DAYS days before
    `end`; refused when reversed or longer than MAX_RANGE_DAYS."""
    end = end or today or utcnow().date()
    try:
        start = start or end - timedelta(days=DEFAULT_RANGE_DAYS - 1)
    except OverflowError:
        raise InvalidRangeError("end is too early for a default start; give start") from None
    if start > end:
        raise InvalidRangeError("start must be on or before end")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise InvalidRangeError(f"a range spans at most {MAX_RANGE_DAYS} days")
    return start, end


def connected_customer(*, session: Session, project_id: uuid.UUID) -> str:
    """The connected customer id (digits). Raises AdsNotConnectedError."""
    connection = get_connection(session=session, project_id=project_id)
    if connection is None:
        raise AdsNotConnectedError()
    return connection.target.replace("-", "")


def account_currency(*, session: Session, project_id: uuid.UUID, customer_id: str) -> str | None:
    currency = session.exec(
        select(AdsAccount.currency_code).where(
            col(AdsAccount.project_id) == project_id, col(AdsAccount.customer_id) == customer_id
        )
    ).first()
    return currency or None


def _totals(
    impressions: int, clicks: int, cost_micros: int, conversions: float, value: float
) -> AdsTotalsPublic:
    return AdsTotalsPublic(
        impressions=impressions,
        clicks=clicks,
        cost=money.units(cost_micros),
        conversions=conversions,
        conversions_value=value,
        ctr=money.click_rate(clicks, impressions),
        cpc=money.per_click(cost_micros, clicks),
    )


def _sums() -> list[Any]:
    day = AdsCampaignDay
    return [
        func.coalesce(func.sum(col(day.impressions)), 0).label("impressions"),
        func.coalesce(func.sum(col(day.clicks)), 0).label("clicks"),
        func.coalesce(func.sum(col(day.cost_micros)), 0).label("cost_micros"),
        func.coalesce(func.sum(col(day.conversions)), 0.0).label("conversions"),
        func.coalesce(func.sum(col(day.conversions_value)), 0.0).label("conversions_value"),
    ]


def _in_range(project_id: uuid.UUID, customer_id: str, start: date, end: date) -> list[Any]:
    day = AdsCampaignDay
    return [
        col(day.project_id) == project_id,
        col(day.customer_id) == customer_id,
        col(day.date) >= start,
        col(day.date) <= end,
    ]


def _totals_row(session: Session, where: list[Any]) -> AdsTotalsPublic:
    row = session.exec(select(*_sums()).where(*where)).one()
    return _totals(int(row[0]), int(row[1]), int(row[2]), float(row[3]), float(row[4]))


def campaigns(
    *,
    session: Session,
    project_id: uuid.UUID,
    start: date,
    end: date,
    sort: AdsCampaignSort = "cost",
    descending: bool = True,
    page: PageRequest = PageRequest(),
) -> AdsCampaignsPublic:
    """The campaigns with metrics in the range, with their totals and the range's totals."""
    customer_id = connected_customer(session=session, project_id=project_id)
    where = _in_range(project_id, customer_id, start, end)
    day, campaign = AdsCampaignDay, AdsCampaign
    sums = (
        select(col(day.campaign_id), *_sums())
        .where(*where)
        .group_by(col(day.campaign_id))
        .subquery()
    )
    impressions, clicks, cost = sums.c.impressions, sums.c.clicks, sums.c.cost_micros
    keys: dict[str, Any] = {
        "cost": cost,
        "clicks": clicks,
        "impressions": impressions,
        "conversions": sums.c.conversions,
        "conversions_value": sums.c.conversions_value,
        "ctr": sa.cast(clicks, sa.Double) / func.nullif(impressions, 0),
        "cpc": sa.cast(cost, sa.Double) / func.nullif(clicks, 0),
        "name": func.coalesce(col(campaign.name), ""),
    }
    key = keys[sort]
    ordered = key.desc().nulls_last() if descending else key.asc().nulls_last()
    query = (
        sa.select(sums, col(campaign.name), col(campaign.status))
        .select_from(sums)
        .outerjoin(
            campaign,
            sa.and_(
                col(campaign.project_id) == project_id,
                col(campaign.customer_id) == customer_id,
                col(campaign.campaign_id) == sums.c.campaign_id,
            ),
        )
        .order_by(ordered, sums.c.campaign_id)
        .offset(page.offset)
        .limit(page.limit)
    )
    rows = session.execute(query).all()
    count = int(session.execute(sa.select(func.count()).select_from(sums)).scalar_one())
    data = [
        AdsCampaignPublic(
            campaign_id=str(row.campaign_id),
            name=row.name or "",
            status=row.status or "UNSPECIFIED",
            **_totals(
                int(row.impressions),
                int(row.clicks),
                int(row.cost_micros),
                float(row.conversions),
                float(row.conversions_value),
            ).model_dump(),
        )
        for row in rows
    ]
    return AdsCampaignsPublic(
        data=data,
        count=count,
        has_more=page.offset + len(data) < count,
        totals=_totals_row(session, where),
        currency=account_currency(session=session, project_id=project_id, customer_id=customer_id),
    )


def metrics(
    *,
    session: Session,
    project_id: uuid.UUID,
    start: date,
    end: date,
    campaign_id: int | None = None,
) -> AdsMetricsPublic:
    """The daily series of the range (every day, zeros where nothing ran) and its totals,
    of all campaigns or one."""
    customer_id = connected_customer(session=session, project_id=project_id)
    where = _in_range(project_id, customer_id, start, end)
    if campaign_id is not None:
        where.append(col(AdsCampaignDay.campaign_id) == campaign_id)
    rows = session.exec(
        select(col(AdsCampaignDay.date), *_sums()).where(*where).group_by(col(AdsCampaignDay.date))
    ).all()
    by_day = {row[0]: row for row in rows}
    daily: list[AdsDayPublic] = []
    for offset in range((end - start).days + 1):
        day = start + timedelta(days=offset)
        row = by_day.get(day)
        daily.append(
            AdsDayPublic(
                date=day,
                impressions=int(row[1]) if row else 0,
                clicks=int(row[2]) if row else 0,
                cost=money.units(int(row[3])) if row else 0.0,
                conversions=float(row[4]) if row else 0.0,
                conversions_value=float(row[5]) if row else 0.0,
            )
        )
    return AdsMetricsPublic(
        daily=daily,
        totals=_totals_row(session, where),
        currency=account_currency(session=session, project_id=project_id, customer_id=customer_id),
    )
