"""Audit routes: start an audit, read its pages, issues and diff, export CSV.

Access follows the project: an audit of another user's project answers 404, like one that
does not exist.
"""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import StreamingResponse

from app.api.deps import CurrentUser, PageDep, ProjectDep, SessionDep
from app.audits import exports, service
from app.audits.checks.catalogue import CATALOGUE
from app.audits.models import (
    AuditDiffPublic,
    AuditPagesPublic,
    AuditRun,
    AuditRunsPublic,
    AuditSummaryPublic,
    ChecksPublic,
    IssueGroupsPublic,
    Severity,
)
from app.core.pagination import MAX_OFFSET
from app.jobs.models import JobPublic

router = APIRouter(tags=["audits"])

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such audit, or not yours"}}


def get_audit(session: SessionDep, current_user: CurrentUser, audit_id: uuid.UUID) -> AuditRun:
    audit = service.get_audit_for_user(session=session, audit_id=audit_id, user=current_user)
    if audit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="Audit not found")
    return audit


AuditDep = Annotated[AuditRun, Depends(get_audit)]


def _known_code(code: str | None) -> str | None:
    if code is not None and code not in CATALOGUE:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_ENTITY, detail=f"Unknown check code: {code!r}"
        )
    return code


@router.post(
    "/projects/{project_id}/audits",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        202: {
            "description": "The audit job: a new one, or the project's active audit when "
            "one is already queued or running (then the header `X-Job-Existing: true`)"
        }
    },
)
def start_audit(
    session: SessionDep, current_user: CurrentUser, project: ProjectDep, response: Response
) -> object:
    job, created = service.start_audit(session=session, project=project, user=current_user)
    if not created:
        response.headers["X-Job-Existing"] = "true"
    return job


@router.get("/projects/{project_id}/audits", response_model=AuditRunsPublic)
def list_audits(session: SessionDep, project: ProjectDep, page: PageDep) -> AuditRunsPublic:
    found = service.list_audits(session=session, project=project, page=page)
    return AuditRunsPublic(data=found.rows, **found.public())


@router.get("/audits/checks", response_model=ChecksPublic)
def list_checks(_: CurrentUser) -> ChecksPublic:
    checks = [check.public() for check in CATALOGUE.values()]
    return ChecksPublic(data=checks, count=len(checks))


@router.get("/audits/{audit_id}", response_model=AuditSummaryPublic, responses=_NOT_FOUND)
def read_audit(session: SessionDep, audit: AuditDep) -> AuditSummaryPublic:
    return service.audit_summary(session=session, audit=audit)


@router.get("/audits/{audit_id}/pages", response_model=AuditPagesPublic, responses=_NOT_FOUND)
def list_pages(
    session: SessionDep,
    audit: AuditDep,
    page: PageDep,
    page_status: Annotated[
        str | None,
        Query(
            alias="status",
            pattern=r"^([1-5]xx|[1-5][0-9]{2}|error|blocked)$",
            description="A status class (4xx), an exact code (404), error or blocked",
        ),
    ] = None,
    issue_code: Annotated[str | None, Query(max_length=64)] = None,
    url_contains: Annotated[str | None, Query(max_length=500)] = None,
    kind: Annotated[
        str | None,
        Query(
            pattern=r"^(page|resource)$",
            description="page: what the summary counts as pages_total; resource: images, "
            "scripts, style sheets and other non-HTML answers (resources_total)",
        ),
    ] = None,
) -> AuditPagesPublic:
    found = service.list_pages(
        session=session,
        audit=audit,
        status=page_status,
        issue_code=_known_code(issue_code),
        url_contains=url_contains,
        kind=kind,
        page=page,
    )
    return AuditPagesPublic(data=found.rows, **found.public())


@router.get("/audits/{audit_id}/issues", response_model=IssueGroupsPublic, responses=_NOT_FOUND)
def list_issues(
    session: SessionDep,
    audit: AuditDep,
    code: Annotated[str | None, Query(max_length=64)] = None,
    severity: Severity | None = None,
    urls_limit: Annotated[int, Query(ge=0, le=500)] = 20,
    urls_offset: Offset = 0,
) -> IssueGroupsPublic:
    """Issues grouped by check (worst first), with the catalogue's description and how to
    fix it; each group's affected URLs are paginated by `urls_limit` / `urls_offset`."""
    groups = service.issue_groups(
        session=session,
        audit=audit,
        code=_known_code(code),
        severity=severity,
        urls_limit=urls_limit,
        urls_offset=urls_offset,
    )
    return IssueGroupsPublic(data=groups, count=len(groups))


@router.get("/audits/{audit_id}/diff", response_model=AuditDiffPublic, responses=_NOT_FOUND)
def diff_audit(
    session: SessionDep,
    audit: AuditDep,
    urls_limit: Annotated[int, Query(ge=0, le=500)] = 20,
) -> AuditDiffPublic:
    """New, fixed and persisting issues against the project's previous completed audit."""
    return service.audit_diff(session=session, audit=audit, urls_limit=urls_limit)


_CSV: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}, **_NOT_FOUND}


@router.get("/audits/{audit_id}/pages.csv", response_class=StreamingResponse, responses=_CSV)
def export_pages(audit: AuditDep) -> StreamingResponse:
    return StreamingResponse(
        exports.pages_csv(audit_id=audit.id),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{audit.id}-pages.csv"'},
    )


@router.get("/audits/{audit_id}/issues.csv", response_class=StreamingResponse, responses=_CSV)
def export_issues(audit: AuditDep) -> StreamingResponse:
    return StreamingResponse(
        exports.issues_csv(audit_id=audit.id),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-{audit.id}-issues.csv"'},
    )
