"""Google Ads routes: the project's connection (write-only secrets), its test, the sync job,
and the campaign and daily reads."""

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Response, status

from app.ads import service
from app.ads.models import (
    AdsCampaignSort,
    AdsCampaignsPublic,
    AdsConnectionCreate,
    AdsMetricsPublic,
    AdsSyncCreate,
)
from app.api.deps import CurrentUser, PageDep, ProjectDep, SessionDep
from app.connections import google
from app.connections import service as connections_service
from app.connections.models import ConnectionPublic, ConnectionTestPublic
from app.core.config import settings
from app.jobs.models import JobPublic

router = APIRouter(tags=["ads"])

_NOT_CONNECTED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such project, or not yours, or Google Ads is not connected"}
}
INT64_MAX = 2**63 - 1


def _not_connected() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=service.NOT_CONNECTED)


def _range(start: date | None, end: date | None) -> tuple[date, date]:
    try:
        return service.read_range(start, end)
    except service.InvalidRangeError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc


@router.put("/projects/{project_id}/ads/connection", response_model=ConnectionPublic)
def connect_ads(
    session: SessionDep, current_user: CurrentUser, project: ProjectDep, body: AdsConnectionCreate
) -> ConnectionPublic:
    """Connects (or reconnects) the project's Google Ads account. The developer token and
    the credential are stored encrypted and never returned. When nothing of the account is
    stored yet, its first sync (the backfill) starts (see the project's jobs)."""
    try:
        connection = service.connect(session=session, project=project, body=body)
    except google.CredentialInvalidError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc
    public = connections_service.describe(connection)
    service.start_first_sync(session=session, project=project, user=current_user)
    return public


@router.get(
    "/projects/{project_id}/ads/connection",
    response_model=ConnectionPublic,
    responses=_NOT_CONNECTED,
)
def read_ads_connection(session: SessionDep, project: ProjectDep) -> ConnectionPublic:
    connection = service.get_connection(session=session, project_id=project.id)
    if connection is None:
        raise _not_connected()
    return connections_service.describe(connection)


@router.delete(
    "/projects/{project_id}/ads/connection",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_NOT_CONNECTED,
)
def disconnect_ads(session: SessionDep, project: ProjectDep) -> Response:
    """Removes the connection and its secrets; synced data stays (reconnecting resumes)."""
    if not service.disconnect(session=session, project_id=project.id):
        raise _not_connected()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/projects/{project_id}/ads/connection/test",
    response_model=ConnectionTestPublic,
    responses=_NOT_CONNECTED,
)
def check_ads_connection(
    session: SessionDep,
    project: ProjectDep,
    body: Annotated[AdsConnectionCreate | None, Body()] = None,
) -> ConnectionTestPublic:
    """Tries the connection given (before saving it), else the stored one: lists the
    customers the credential reaches. Google's refusals are answers (`ok` false)."""
    if body is not None:
        try:
            access = service.access_from_input(body)
        except google.CredentialInvalidError as exc:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from exc
        customer_id = body.customer_id
    else:
        connection = service.get_connection(session=session, project_id=project.id)
        if connection is None:
            raise _not_connected()
        try:
            access, customer_id = service.stored_access(connection)
        except google.CredentialInvalidError as exc:
            return ConnectionTestPublic(ok=False, detail=f"the stored credential: {exc}")
    return service.check_access(access=access, customer_id=customer_id)


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
    try:
        job, created = service.start_sync(
            session=session,
            project=project,
            user=current_user,
            days=days,
        )
    except service.AdsNotConnectedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if not created:
        response.headers["X-Job-Existing"] = "true"
    return job


StartQuery = Annotated[date | None, Query(description="First day (default: 30 days before end)")]
EndQuery = Annotated[date | None, Query(description="Last day, included (default: today, UTC)")]


@router.get(
    "/projects/{project_id}/ads/campaigns",
    response_model=AdsCampaignsPublic,
    responses=_NOT_CONNECTED,
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
    first, last = _range(start, end)
    try:
        return service.campaigns(
            session=session,
            project_id=project.id,
            start=first,
            end=last,
            sort=sort,
            descending=order == "desc",
            page=page,
        )
    except service.AdsNotConnectedError:
        raise _not_connected() from None


@router.get(
    "/projects/{project_id}/ads/metrics",
    response_model=AdsMetricsPublic,
    responses=_NOT_CONNECTED,
)
def read_ads_metrics(
    session: SessionDep,
    project: ProjectDep,
    start: StartQuery = None,
    end: EndQuery = None,
    campaign_id: Annotated[int | None, Query(ge=1, le=INT64_MAX)] = None,
) -> AdsMetricsPublic:
    """The daily series (every day of the range) and totals, of all campaigns or one."""
    first, last = _range(start, end)
    try:
        return service.metrics(
            session=session, project_id=project.id, start=first, end=last, campaign_id=campaign_id
        )
    except service.AdsNotConnectedError:
        raise _not_connected() from None
