"""Google Ads routes: the project's connection (write-only secrets), its test, the sync job,
and the campaign and daily reads."""

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Response, status

from app.ads import service
from app.ads.domain import ADS_PROVIDER
from app.ads.models import (
    AdsCampaignSort,
    AdsCampaignsPublic,
    AdsConnectionCreate,
    AdsMetricsPublic,
    AdsSyncCreate,
)
from app.api.deps import CurrentUser, PageDep, ProjectDep, SessionDep
from app.connections.routes import NotConnected, connection_routes
from app.core.config import settings
from app.jobs.models import JobPublic

router = APIRouter(tags=["ads"])

NOT_CONNECTED = NotConnected(
    error=service.AdsNotConnectedError,
    detail=service.NOT_CONNECTED,
    description="No such project, or not yours, or Google Ads is not connected",
)
INT64_MAX = 2**63 - 1


router.include_router(
    connection_routes(
        prefix="ads",
        provider=ADS_PROVIDER,
        not_connected=NOT_CONNECTED,
        body=AdsConnectionCreate,
        connect=service.connect,
        check=service.check_connection,
        after_connect=service.start_first_sync,
        names={"get": "read_ads_connection", "delete": "disconnect_ads"},
        docs={
            "connect": "Connects (or reconnects) the project's Google Ads account. The developer "
            "token and\nthe credential are stored encrypted and never returned. When nothing of "
            "the account is\nstored yet, its first sync (the backfill) starts (see the project's "
            "jobs).",
            "delete": "Removes the connection and its secrets; synced data stays (reconnecting "
            "resumes).",
            "check": "Tries the connection given (before saving it), else the stored one: lists "
            "the\ncustomers the credential reaches. Google's refusals are answers (`ok` false).",
        },
    )
)


@router.post(
    "/projects/{project_id}/ads/sync",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        202: {
            "description": "The sync job: a new one, or the project's active sync (then the "
            "header `X-Job-Existing: true`)"
        },
        409: {"description": "Google Ads is not connected"},
    },
)
def start_ads_sync(
    session: SessionDep,
    current_user: CurrentUser,
    project: ProjectDep,
    response: Response,
    body: Annotated[AdsSyncCreate | None, Body()] = None,
) -> object:
    """Syncs the last days (the whole first-sync range when nothing is stored yet); `days`
    asks for a longer range, at most ADS_FIRST_SYNC_DAYS."""
    days = body.days if body is not None else None
    if days is not None and days > settings.ADS_FIRST_SYNC_DAYS:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY,
            detail=f"days must be at most {settings.ADS_FIRST_SYNC_DAYS}",
        )
    return NOT_CONNECTED.start_job(
        response,
        lambda: service.start_sync(session=session, project=project, user=current_user, days=days),
    )


StartQuery = Annotated[date | None, Query(description="First day (default: 30 days before end)")]
EndQuery = Annotated[date | None, Query(description="Last day, included (default: today, UTC)")]


@router.get(
    "/projects/{project_id}/ads/campaigns",
    response_model=AdsCampaignsPublic,
    responses=NOT_CONNECTED.responses,
)
def list_ads_campaigns(
    session: SessionDep,
    project: ProjectDep,
    page: PageDep,
    start: StartQuery = None,
    end: EndQuery = None,
    sort: AdsCampaignSort = "cost",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> AdsCampaignsPublic:
    """The campaigns with metrics in the range, their totals and the range's totals; cost
    in the account's currency (`currency`)."""
    with NOT_CONNECTED.answers():
        first, last = service.read_range(start, end)
        return service.campaigns(
            session=session,
            project_id=project.id,
            start=first,
            end=last,
            sort=sort,
            descending=order == "desc",
            page=page,
        )


@router.get(
    "/projects/{project_id}/ads/metrics",
    response_model=AdsMetricsPublic,
    responses=NOT_CONNECTED.responses,
)
def read_ads_metrics(
    session: SessionDep,
    project: ProjectDep,
    start: StartQuery = None,
    end: EndQuery = None,
    campaign_id: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
) -> AdsMetricsPublic:
    """The daily series (every day of the range) and totals, of all campaigns or one."""
    with NOT_CONNECTED.answers():
        first, last = service.read_range(start, end)
        return service.metrics(
            session=session, project_id=project.id, start=first, end=last, campaign_id=campaign_id
        )
