"""Rank-tracking routes: the provider connection (write-only secrets), keywords, refresh jobs
and the reads. Project routes go through ProjectDep and keyword routes through KeywordDep:
another user's project or keyword answers 404, like one that does not exist."""

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import (
    APIRouter,
    Body,
    Depends,
    File,
    Form,
    HTTPException,
    Query,
    Response,
    UploadFile,
    status,
)
from pydantic import Field

from app.api.deps import CurrentUser, PageDep, ProjectDep, SessionDep
from app.connections.routes import NotConnected, connection_routes
from app.jobs.models import JobPublic
from app.serp import intake, service
from app.serp.domain import PROVIDER
from app.serp.models import (
    DataForSeoConnection,
    Device,
    KeywordCreate,
    KeywordHistoryPublic,
    KeywordsAddedPublic,
    KeywordsPublic,
    SerpApiConnection,
    SerpKeyword,
    VisibilityPublic,
)

router = APIRouter(tags=["serp"])

MAX_KEYWORDS_PER_REQUEST = 1000

NOT_CONNECTED = NotConnected(
    error=service.NotConnectedError,
    detail=service.NOT_CONNECTED,
    description="No such project, or not yours; or rank tracking is not connected",
)
_JOB: dict[int | str, dict[str, Any]] = {
    202: {
        "description": "The job: a new one, or the active one (then the header "
        "`X-Job-Existing: true`)"
    },
    409: {"description": "Rank tracking is not connected to a provider"},
}

ConnectionBody = Annotated[
    SerpApiConnection | DataForSeoConnection, Field(discriminator="provider")
]
Start = Annotated[dt.date | None, Query(description="First day")]
End = Annotated[dt.date | None, Query(description="Last day (default: today, UTC)")]


def _unprocessable(exc: ValueError) -> HTTPException:
    return HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc))


def get_keyword(
    session: SessionDep, current_user: CurrentUser, keyword_id: uuid.UUID
) -> SerpKeyword:
    keyword = service.get_keyword_for_user(
        session=session, keyword_id=keyword_id, user=current_user
    )
    if keyword is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Keyword not found")
    return keyword


KeywordDep = Annotated[SerpKeyword, Depends(get_keyword)]


# --- Connection --------------------------------------------------------------------------------


router.include_router(
    connection_routes(
        prefix="serp",
        provider=PROVIDER,
        not_connected=NOT_CONNECTED,
        body=ConnectionBody,
        connect=service.connect,
        check=service.check_connection,
        docs={
            "connect": 'SerpApi (`{provider: "serpapi", api_key}`) or DataForSEO (`{provider: '
            '"dataforseo",\nlogin, password}`); the secret is stored encrypted and never shown '
            "again.",
            "check": "Asks the provider about the credential given (before saving it), or the "
            "stored one,\nfree of charge: SerpApi's searches left, DataForSEO's balance.",
        },
    )
)


# --- Keywords ----------------------------------------------------------------------------------


@router.post(
    "/projects/{project_id}/keywords",
    response_model=KeywordsAddedPublic,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The one keyword given is a duplicate or over the cap"}},
)
def add_keywords(
    session: SessionDep,
    project: ProjectDep,
    body: Annotated[
        KeywordCreate | Annotated[list[KeywordCreate], Field(max_length=MAX_KEYWORDS_PER_REQUEST)],
        Body(),
    ],
) -> KeywordsAddedPublic:
    """One keyword or a list; the answer reports what was added and each one rejected
    (duplicate, over the project's cap), by its place in the list (from 1)."""
    items = body if isinstance(body, list) else [body]
    candidates = [
        intake.Candidate(line=n, text=k.text, fields=k.model_dump()) for n, k in enumerate(items, 1)
    ]
    report = service.add_keywords(session=session, project=project, candidates=candidates)
    if not isinstance(body, list) and report.rejected:
        raise HTTPException(status.HTTP_409_CONFLICT, detail=report.rejected[0].reason)
    return report


@router.post(
    "/projects/{project_id}/keywords/bulk",
    response_model=KeywordsAddedPublic,
    responses={413: {"description": "The upload is too large"}},
)
def add_keywords_in_bulk(
    session: SessionDep,
    project: ProjectDep,
    lines: Annotated[str | None, Form(description="Pasted keywords, one a line")] = None,
    file: Annotated[
        UploadFile | None, File(description="CSV: keyword,country,language,device,tags")
    ] = None,
    country: Annotated[str | None, Form(description="For lines and empty CSV cells")] = None,
    language: Annotated[str | None, Form()] = None,
    device: Annotated[Device, Form()] = "desktop",
    location: Annotated[str | None, Form(max_length=200)] = None,
    tags: Annotated[str | None, Form(description="Separated by | or ;")] = None,
) -> KeywordsAddedPublic:
    """Pasted lines or a CSV upload; the report names each rejected line and why."""
    if (lines is None) == (file is None):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, detail="send either lines or a CSV file"
        )
    defaults = intake.KeywordDefaults(
        country=country,
        language=language,
        device=device,
        location=location,
        tags=intake.split_tags(tags or ""),
    )
    try:
        if file is not None:
            data = file.file.read(intake.MAX_BULK_BYTES + 1)
            if len(data) > intake.MAX_BULK_BYTES:
                raise HTTPException(
                    status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                    detail=f"the file is larger than {intake.MAX_BULK_BYTES // 1024} KB",
                )
            candidates = intake.parse_csv(data, defaults)
        else:
            candidates = intake.parse_lines(lines or "", defaults)
    except intake.BulkInputError as exc:
        raise _unprocessable(exc) from exc
    return service.add_keywords(session=session, project=project, candidates=candidates)


@router.get("/projects/{project_id}/keywords", response_model=KeywordsPublic)
def list_keywords(
    session: SessionDep,
    project: ProjectDep,
    page: PageDep,
    tag: Annotated[str | None, Query(max_length=50)] = None,
    device: Annotated[Device | None, Query()] = None,
    country: Annotated[str | None, Query(pattern="^[A-Za-z]{2}$")] = None,
    sort: Annotated[service.KeywordSort, Query()] = "created_at",
    order: Annotated[Literal["asc", "desc"], Query()] = "asc",
) -> KeywordsPublic:
    found = service.list_keywords(
        session=session,
        project=project,
        filters=service.KeywordFilters(
            tag=tag, device=device, country=country.upper() if country else None
        ),
        sort=sort,
        descending=order == "desc",
        page=page,
    )
    return KeywordsPublic(data=found.rows, **found.public())


@router.delete(
    "/projects/{project_id}/keywords/{keyword_id}", status_code=status.HTTP_204_NO_CONTENT
)
def delete_keyword(session: SessionDep, project: ProjectDep, keyword_id: uuid.UUID) -> Response:
    if not service.delete_keyword(session=session, project=project, keyword_id=keyword_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Keyword not found")
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/keywords/{keyword_id}/history", response_model=KeywordHistoryPublic)
def get_keyword_history(
    session: SessionDep, keyword: KeywordDep, start: Start = None, end: End = None
) -> KeywordHistoryPublic:
    """The keyword's daily snapshots (position, status, URL found, the top 10)."""
    try:
        return service.keyword_history(session=session, keyword=keyword, start=start, end=end)
    except ValueError as exc:
        raise _unprocessable(exc) from exc


@router.get("/projects/{project_id}/serp/visibility", response_model=VisibilityPublic)
def get_serp_visibility(
    session: SessionDep, project: ProjectDep, start: Start = None, end: End = None
) -> VisibilityPublic:
    """Per day, the share of keywords checked that ranked in the top 3, 10 and 100."""
    try:
        return service.visibility(session=session, project=project, start=start, end=end)
    except ValueError as exc:
        raise _unprocessable(exc) from exc


# --- Refresh jobs ------------------------------------------------------------------------------


@router.post(
    "/projects/{project_id}/serp/refresh",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_JOB,
)
def start_serp_refresh(
    session: SessionDep, current_user: CurrentUser, project: ProjectDep, response: Response
) -> object:
    return NOT_CONNECTED.start_job(
        response,
        lambda: service.start_refresh(session=session, project=project, user=current_user),
    )


@router.post(
    "/keywords/{keyword_id}/refresh",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_JOB,
)
def start_keyword_refresh(
    session: SessionDep, current_user: CurrentUser, keyword: KeywordDep, response: Response
) -> object:
    return NOT_CONNECTED.start_job(
        response,
        lambda: service.start_keyword_refresh(session=session, keyword=keyword, user=current_user),
    )
