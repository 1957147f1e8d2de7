"""Backlink routes: upload an export (202 with its job), the import history and reports,
and the project's backlinks, referring domains, anchors and timeline.

Access follows the project: an import of another user's project answers 404, like one that
does not exist.
"""

import asyncio
import re
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from app.api.deps import CurrentUser, PageDep, ProjectDep, SessionDep
from app.core.config import settings
from app.core.pagination import MAX_OFFSET, PageRequest
from app.jobs.models import JobPublic
from app.links import service, uploads
from app.links.formats import SUMMARY_COUNTS
from app.links.models import (
    AnchorsPublic,
    BacklinkPublic,
    BacklinksPublic,
    LinkImport,
    LinkImportReportPublic,
    LinkImportsPublic,
    LinkSummaryPublic,
    LinkSummaryRowPublic,
    ReferringDomainsPublic,
    TimelinePublic,
)

router = APIRouter(tags=["links"])

MAX_BACKLINKS_PAGE = 1000
CONCURRENT_UPLOADS_PER_PROCESS = 2
_uploads_in_progress = asyncio.Semaphore(CONCURRENT_UPLOADS_PER_PROCESS)
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such import, or not yours"}}

_UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A backlink export: Ahrefs, Semrush, Majestic or "
                            "Search Console, recognised from its header row",
                        }
                    },
                }
            }
        },
    }
}


@router.post(
    "/projects/{project_id}/links/import",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    openapi_extra=_UPLOAD_BODY,
    responses={
        413: {"description": "The file is over LINKS_MAX_UPLOAD_BYTES"},
        429: {"description": "Too many uploads in progress on this server"},
        422: {"description": "Not a known export (the message lists each format's columns)"},
    },
)
async def import_links(
    request: Request, session: SessionDep, current_user: CurrentUser, project: ProjectDep
) -> object:
    # The body is read after the dependencies, as a stream (uploads.py). The session gives
    # its connection back meanwhile, but the request keeps its database slot (api/deps.py)
    # until it ends: uploads at once per process are bounded, so slow ones cannot take
    # every slot of the API.
    session.close()
    if _uploads_in_progress.locked():
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail="Other uploads are in progress on this server: try again in a moment",
            headers={"Retry-After": "10"},
        )
    async with _uploads_in_progress:
        try:
            received = await uploads.receive_file(
                request,
                directory=service.upload_directory(),
                limit=settings.LINKS_MAX_UPLOAD_BYTES,
            )
        except uploads.UploadRefusedError as exc:
            raise HTTPException(exc.status_code, detail=exc.message) from None
    try:
        return await run_in_threadpool(
            service.start_import,
            session=session,
            project=project,
            user=current_user,
            path=received.path,
            file_name=received.file_name,
            size=received.size,
        )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None


@router.get("/projects/{project_id}/links/imports", response_model=LinkImportsPublic)
def list_imports(session: SessionDep, project: ProjectDep, page: PageDep) -> LinkImportsPublic:
    found = service.list_imports(session=session, project=project, page=page)
    return LinkImportsPublic(
        data=[service.import_public(session=session, link_import=row) for row in found.rows],
        **found.public(),
    )


def get_import(session: SessionDep, current_user: CurrentUser, import_id: uuid.UUID) -> LinkImport:
    found = service.get_import_for_user(session=session, import_id=import_id, user=current_user)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Import not found")
    return found


ImportDep = Annotated[LinkImport, Depends(get_import)]


@router.get(
    "/links/imports/{import_id}", response_model=LinkImportReportPublic, responses=_NOT_FOUND
)
def read_import(session: SessionDep, link_import: ImportDep) -> LinkImportReportPublic:
    return service.import_report(session=session, link_import=link_import)


@router.get(
    "/links/imports/{import_id}/rejected.csv",
    response_class=Response,
    responses={**_NOT_FOUND, 200: {"content": {"text/csv": {}}}},
)
def download_rejected_rows(link_import: ImportDep) -> Response:
    # The uploader's file name, reduced to what a header can carry as it is.
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(link_import.file_name).stem)[:100] or "import"
    return Response(
        content=service.rejected_rows_csv(link_import),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}-rejected.csv"'},
    )


def _backlinks_page(
    limit: Annotated[int, Query(ge=1, le=MAX_BACKLINKS_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> PageRequest:
    return PageRequest(limit=limit, offset=offset)


@router.get("/projects/{project_id}/backlinks", response_model=BacklinksPublic)
def list_backlinks(
    session: SessionDep,
    project: ProjectDep,
    page: Annotated[PageRequest, Depends(_backlinks_page)],
    referring_domain: Annotated[str | None, Query(max_length=255)] = None,
    nofollow: bool | None = None,
    ugc: bool | None = None,
    sponsored: bool | None = None,
    lost: bool | None = None,
    anchor: Annotated[
        str | None, Query(max_length=200, description="Anchor text contains (any case)")
    ] = None,
    sort: service.BacklinkSort = service.BacklinkSort.last_seen_desc,
) -> BacklinksPublic:
    found = service.list_backlinks(
        session=session,
        project=project,
        filters=service.BacklinkFilter(
            referring_domain=referring_domain,
            nofollow=nofollow,
            ugc=ugc,
            sponsored=sponsored,
            lost=lost,
            anchor=anchor,
        ),
        sort=sort,
        page=page,
    )
    return BacklinksPublic(
        data=[BacklinkPublic.model_validate(row, from_attributes=True) for row in found.rows],
        **found.public(),
    )


@router.get(
    "/projects/{project_id}/backlinks/referring-domains", response_model=ReferringDomainsPublic
)
def list_referring_domains(
    session: SessionDep, project: ProjectDep, page: PageDep
) -> ReferringDomainsPublic:
    found = service.referring_domains(session=session, project=project, page=page)
    return ReferringDomainsPublic(data=found.rows, **found.public())


@router.get("/projects/{project_id}/backlinks/anchors", response_model=AnchorsPublic)
def list_top_anchors(
    session: SessionDep,
    project: ProjectDep,
    limit: Annotated[int, Query(ge=1, le=service.MAX_TOP_ANCHORS)] = 20,
) -> AnchorsPublic:
    return AnchorsPublic(data=service.top_anchors(session=session, project=project, limit=limit))


@router.get("/projects/{project_id}/backlinks/timeline", response_model=TimelinePublic)
def backlinks_timeline(
    session: SessionDep,
    project: ProjectDep,
    start: date | None = None,
    end: date | None = None,
    interval: service.TimelineInterval = service.TimelineInterval.day,
) -> TimelinePublic:
    try:
        first, last = service.timeline_bounds(start, end)
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    points = service.timeline(
        session=session, project=project, start=first, end=last, interval=interval
    )
    return TimelinePublic(interval=interval.value, start=first, end=last, data=points)


@router.get("/projects/{project_id}/backlinks/summaries/{kind}", response_model=LinkSummaryPublic)
def read_link_summary(
    session: SessionDep, project: ProjectDep, kind: str, page: PageDep
) -> LinkSummaryPublic:
    """Search Console's Links report summaries as last imported: `gsc_top_linking_sites`
    (site, linking pages, target pages) or `gsc_top_linked_pages` (page, incoming links,
    linking sites)."""
    if kind not in SUMMARY_COUNTS:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            detail=f"No such summary; the summaries are {', '.join(SUMMARY_COUNTS)}",
        )
    found = service.summary_rows(session=session, project=project, kind=kind, page=page)
    first_label, second_label = service.summary_labels(kind)
    return LinkSummaryPublic(
        kind=kind,
        first_count_label=first_label,
        second_count_label=second_label,
        data=[LinkSummaryRowPublic.model_validate(r, from_attributes=True) for r in found.rows],
        **found.public(),
    )
