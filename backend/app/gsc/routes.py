"""Search Console routes: the connection (write-only credentials), test, sync, backfill, and
the data the dashboard charts. Every route goes through ProjectDep: another user's project
answers 404."""

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Query, Response, status

from app.api.deps import CurrentUser, ProjectDep, SessionDep
from app.connections.models import ConnectionPublic, ConnectionTestPublic
from app.gsc import service
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

_NOT_CONNECTED: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such project, or not yours; or Search Console is not connected"}
}
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


def _unprocessable(exc: ValueError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc))


class _service_errors:  # noqa: N801 - used as a statement: `with _service_errors():`
    """Answers the service's refusals: not connected (404), invalid input (422)."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if isinstance(exc, service.NotConnectedError):
            raise _not_connected() from exc
        if isinstance(exc, ValueError):
            raise _unprocessable(exc) from exc


def _not_connected() -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, detail=service.NOT_CONNECTED)


@router.put("/projects/{project_id}/gsc/connection", response_model=ConnectionPublic)
def connect_gsc(
    session: SessionDep, project: ProjectDep, body: GscConnectionCreate
) -> ConnectionPublic:
    try:
        return service.connect(
            session=session,
            project=project,
            property=body.property,
            credentials=body.credentials,
        )
    except ValueError as exc:
        raise _unprocessable(exc) from exc


@router.get(
    "/projects/{project_id}/gsc/connection",
    response_model=ConnectionPublic,
    responses=_NOT_CONNECTED,
)
def get_gsc_connection(session: SessionDep, project: ProjectDep) -> ConnectionPublic:
    connection = service.get_connection(session=session, project=project)
    if connection is None:
        raise _not_connected()
    return service.describe_connection(connection)


@router.delete(
    "/projects/{project_id}/gsc/connection",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=_NOT_CONNECTED,
)
def delete_gsc_connection(session: SessionDep, project: ProjectDep) -> Response:
    if not service.disconnect(session=session, project=project):
        raise _not_connected()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/projects/{project_id}/gsc/connection/test",
    response_model=ConnectionTestPublic,
    responses=_NOT_CONNECTED,
)
def check_gsc_connection(
    session: SessionDep,
    project: ProjectDep,
    body: Annotated[GscConnectionTest | None, Body()] = None,
) -> ConnectionTestPublic:
    """Tests the credential and property given (before saving), or the stored ones."""
    with _service_errors():
        return service.check_connection(
            session=session,
            project=project,
            property=body.property if body else None,
            credentials=body.credentials if body else None,
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
    try:
        job, created = service.start_sync(session=session, project=project, user=current_user)
    except service.NotConnectedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    if not created:
        response.headers["X-Job-Existing"] = "true"
    return job


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
    try:
        job, created = service.start_backfill(
            session=session,
            project=project,
            user=current_user,
            days=body.days if body else None,
        )
    except service.NotConnectedError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=str(exc)) from exc
    except ValueError as exc:
        raise _unprocessable(exc) from exc
    if not created:
        response.headers["X-Job-Existing"] = "true"
    return job


@router.get(
    "/projects/{project_id}/gsc/metrics", response_model=GscMetricsPublic, responses=_NOT_CONNECTED
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
    with _service_errors():
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
    "/projects/{project_id}/gsc/queries", response_model=GscQueriesPublic, responses=_NOT_CONNECTED
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
    with _service_errors():
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
    "/projects/{project_id}/gsc/pages", response_model=GscPagesPublic, responses=_NOT_CONNECTED
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
    with _service_errors():
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
    responses=_NOT_CONNECTED,
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
    with _service_errors():
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
    responses=_NOT_CONNECTED,
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
    with _service_errors():
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
