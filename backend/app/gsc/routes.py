"""Search Console routes: the connection (write-only credentials), test, sync, backfill, and
the data the dashboard charts. Every route goes through ProjectDep: another user's project
answers 404."""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Response, status

from app.api.deps import CurrentUser, ProjectDep, SessionDep
from app.connections.routes import NotConnected, connection_routes
from app.gsc import service
from app.gsc.domain import PROVIDER
from app.gsc.models import (
    GscBackfillCreate,
    GscConnectionCreate,
    GscConnectionTest,
    GscMetricsPublic,
    GscPagesPublic,
    GscQueriesPublic,
    GscSeriesPublic,
)
from app.jobs.models import JobPublic

router = APIRouter(tags=["gsc"])

NOT_CONNECTED = NotConnected(
    error=service.NotConnectedError,
    detail=service.NOT_CONNECTED,
    description="No such project, or not yours; or Search Console is not connected",
)
_JOB: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "The job: a new one, or the project's active one (then the header "
        "`X-Job-Existing: true`)"
    },
    409: {"description": "Search Console is not connected"},
}

Start = Annotated[dt.date | None, Query(description="First day (default: 28 days before end)")]
End = Annotated[dt.date | None, Query(description="Last day (default: the latest synced day)")]
SearchType = Annotated[
    Literal["web", "image", "video", "news", "discover", "googleNews"], Query(alias="type")
]
Country = Annotated[
    str | None, Query(min_length=3, max_length=3, pattern="^[a-z]{3}$", description="ISO alpha-3")
]
Device = Annotated[Literal["DESKTOP", "MOBILE", "TABLET"] | None, Query()]
Sort = Annotated[Literal["clicks", "impressions", "ctr", "position"], Query()]
Order = Annotated[Literal["asc", "desc"], Query()]
Search = Annotated[str | None, Query(max_length=500, description="Substring, any case")]
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


router.include_router(
    connection_routes(
        prefix="gsc",
        provider=PROVIDER,
        not_connected=NOT_CONNECTED,
        body=GscConnectionCreate,
        check_body=GscConnectionTest,
        connect=service.connect,
        check=service.check_connection,
        docs={
            "check": "Tests the credential and property given (before saving), or the stored ones."
        },
    )
)


@router.post(
    "/projects/{project_id}/gsc/sync",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_JOB,
)
def start_gsc_sync(
    session: SessionDep, current_user: CurrentUser, project: ProjectDep, response: Response
) -> object:
    return NOT_CONNECTED.start_job(
        response, lambda: service.start_sync(session=session, project=project, user=current_user)
    )


@router.post(
    "/projects/{project_id}/gsc/backfill",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_JOB,
)
def start_gsc_backfill(
    session: SessionDep,
    current_user: CurrentUser,
    project: ProjectDep,
    response: Response,
    body: Annotated[GscBackfillCreate | None, Body()] = None,
) -> object:
    return NOT_CONNECTED.start_job(
        response,
        lambda: service.start_backfill(
            session=session, project=project, user=current_user, days=body.days if body else None
        ),
    )


@router.get(
    "/projects/{project_id}/gsc/metrics",
    response_model=GscMetricsPublic,
    responses=NOT_CONNECTED.responses,
)
def get_gsc_metrics(
    session: SessionDep,
    project: ProjectDep,
    start: Start = None,
    end: End = None,
    search_type: SearchType = "web",
    country: Country = None,
    device: Device = None,
) -> GscMetricsPublic:
    """Daily clicks, impressions, CTR and average position (from the property totals, so
    anonymised queries count), with the same-length period before."""
    with NOT_CONNECTED.answers():
        return service.metrics(
            session=session,
            project=project,
            start=start,
            end=end,
            search_type=search_type,
            country=country,
            device=device,
        )


@router.get(
    "/projects/{project_id}/gsc/queries",
    response_model=GscQueriesPublic,
    responses=NOT_CONNECTED.responses,
)
def list_gsc_queries(
    session: SessionDep,
    project: ProjectDep,
    start: Start = None,
    end: End = None,
    search_type: SearchType = "web",
    country: Country = None,
    device: Device = None,
    search: Search = None,
    sort: Sort = "clicks",
    order: Order = "desc",
    limit: Limit = 100,
    offset: Offset = 0,
) -> GscQueriesPublic:
    with NOT_CONNECTED.answers():
        return service.top_queries(
            session=session,
            project=project,
            start=start,
            end=end,
            search_type=search_type,
            country=country,
            device=device,
            search=search,
            sort=sort,
            descending=order == "desc",
            limit=limit,
            offset=offset,
        )


@router.get(
    "/projects/{project_id}/gsc/pages",
    response_model=GscPagesPublic,
    responses=NOT_CONNECTED.responses,
)
def list_gsc_pages(
    session: SessionDep,
    project: ProjectDep,
    start: Start = None,
    end: End = None,
    search_type: SearchType = "web",
    country: Country = None,
    device: Device = None,
    search: Search = None,
    sort: Sort = "clicks",
    order: Order = "desc",
    limit: Limit = 100,
    offset: Offset = 0,
) -> GscPagesPublic:
    with NOT_CONNECTED.answers():
        return service.top_pages(
            session=session,
            project=project,
            start=start,
            end=end,
            search_type=search_type,
            country=country,
            device=device,
            search=search,
            sort=sort,
            descending=order == "desc",
            limit=limit,
            offset=offset,
        )


@router.get(
    "/projects/{project_id}/gsc/queries/series",
    response_model=GscSeriesPublic,
    responses=NOT_CONNECTED.responses,
)
def get_gsc_query_series(
    session: SessionDep,
    project: ProjectDep,
    query: Annotated[str, Query(min_length=1, max_length=2048)],
    start: Start = None,
    end: End = None,
    search_type: SearchType = "web",
    country: Country = None,
    device: Device = None,
) -> GscSeriesPublic:
    with NOT_CONNECTED.answers():
        return service.series(
            session=session,
            project=project,
            dimension="query",
            value=query,
            start=start,
            end=end,
            search_type=search_type,
            country=country,
            device=device,
        )


@router.get(
    "/projects/{project_id}/gsc/pages/series",
    response_model=GscSeriesPublic,
    responses=NOT_CONNECTED.responses,
)
def get_gsc_page_series(
    session: SessionDep,
    project: ProjectDep,
    page: Annotated[str, Query(min_length=1, max_length=2048)],
    start: Start = None,
    end: End = None,
    search_type: SearchType = "web",
    country: Country = None,
    device: Device = None,
) -> GscSeriesPublic:
    with NOT_CONNECTED.answers():
        return service.series(
            session=session,
            project=project,
            dimension="page",
            value=page,
            start=start,
            end=end,
            search_type=search_type,
            country=country,
            device=device,
        )
