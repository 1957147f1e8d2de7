"""Audits: starting them (the audit row is recorded with its job), reading the results and
their diff, and retention. The stages that do the work are in `stages.py`; CSV exports in
`exports.py`."""

import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.audits.checks.catalogue import CATALOGUE, SEVERITY_ORDER, Check
from app.audits.domain import AUDIT_JOB
from app.audits.models import (
    AuditDiffPublic,
    AuditIssue,
    AuditOutcome,
    AuditPage,
    AuditPagePublic,
    AuditRun,
    AuditRunPublic,
    AuditStatus,
    AuditSummaryPublic,
    IssueDiffEntry,
    IssueGroupPublic,
    IssueUrlPublic,
    Severity,
)
from app.audits.scoring import (
    ISSUES_BY_CODE,
    ISSUES_BY_SEVERITY,
    PAGES_BY_STATUS,
    RESOURCES_BY_STATUS,
    count_by,
)
from app.core.config import Settings, settings
from app.core.db import utcnow
from app.core.logging import get_logger
from app.core.pagination import Page, PageRequest, paginate
from app.jobs import service as jobs_service
from app.jobs.models import JobPriority, JobRun, JobStatus
from app.projects.models import Project
from app.projects.visibility import visible_project
from app.users.models import User

logger = get_logger(__name__)


def audit_dedupe_key(project_id: uuid.UUID) -> str:
    return f"{AUDIT_JOB}:{project_id}"


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.astimezone(UTC).isocalendar()
    return f"{year}-W{week:02d}"


# --- Starting audits -------------------------------------------------------------------


def audit_config(*, project: Project, app_settings: Settings = settings) -> dict[str, Any]:
    """The settings an audit runs with, frozen when it starts (the project may change)."""
    return {
        "start_url": project.site_url,
        # The operator's limits are ceilings: a project may ask for less, never more.
        "max_pages": min(
            project.max_crawl_pages or app_settings.MAX_CRAWL_PAGES, app_settings.MAX_CRAWL_PAGES
        ),
        "max_depth": min(
            app_settings.MAX_CRAWL_DEPTH
            if project.max_crawl_depth is None
            else project.max_crawl_depth,
            app_settings.MAX_CRAWL_DEPTH,
        ),
        "include_subdomains": project.include_subdomains,
        "render_enabled": project.render_enabled,
        "max_render_pages": app_settings.MAX_RENDER_PAGES,
    }


def start_audit(
    *, session: Session, project: Project, user: User | None, scheduled_week: str | None = None
) -> tuple[JobRun, bool]:
    """Starts an audit job for the project, or returns its active one (created=False). The
    audit row is recorded with the job (record_audit_row), both committed before the job is
    published."""
    config = audit_config(project=project)
    if scheduled_week is not None:
        config["scheduled_week"] = scheduled_week
    job, created = jobs_service.record_job(
        session=session,
        job_type=AUDIT_JOB,
        stage="crawl",
        project=project,
        user=user,
        # Beat's weekly audits wait behind anything a person starts.
        priority=JobPriority.scheduled if scheduled_week is not None else JobPriority.interactive,
        config=config,
        dedupe_key=audit_dedupe_key(project.id),
    )
    session.commit()  # publishes a created job
    return job, created


def record_audit_row(session: Session, job: JobRun) -> None:
    """The audit row of a new audit job, in the job's transaction (registered with
    jobs_service.register_job_rows, so a retried audit gets one too). Its config is the job's,
    frozen when the audit started; the stages only read the row."""
    if job.project_id is None:
        raise ValueError("an audit job needs a project")
    session.add(
        AuditRun(project_id=job.project_id, job_id=job.id, config_json=dict(job.config_json))
    )
    session.flush()  # written now: a failure is the start's, not the caller's later commit's


def audit_of_job(*, session: Session, job_id: uuid.UUID) -> AuditRun | None:
    return session.exec(select(AuditRun).where(col(AuditRun.job_id) == job_id)).first()


def run_scheduled_audits(*, session: Session, now: datetime | None = None) -> list[uuid.UUID]:
    """Starts this week's audit for every project that asked for weekly audits. A project
    already audited by schedule this ISO week is skipped, so a second Beat firing (or a
    re-run) starts nothing; the active-audit key keeps concurrent starts to one."""
    week = iso_week(now or utcnow())
    already = select(JobRun.project_id).where(
        col(JobRun.job_type) == AUDIT_JOB,
        JobRun.config_json["scheduled_week"].astext == week,
    )
    projects = session.exec(
        select(Project)
        .where(col(Project.weekly_audit_enabled), col(Project.id).not_in(already))
        .order_by(col(Project.id))
    ).all()
    started = []
    for project in projects:
        job, created = start_audit(session=session, project=project, user=None, scheduled_week=week)
        if created:
            started.append(job.id)
    logger.info("scheduled_audits_started", week=week, count=len(started))
    return started


# --- Reading results -------------------------------------------------------------------


def get_audit_for_user(*, session: Session, audit_id: uuid.UUID, user: User) -> AuditRun | None:
    """The audit, if the user may see it (through its project); else None, like a miss."""
    return session.exec(
        select(AuditRun).where(
            col(AuditRun.id) == audit_id, visible_project(user, col(AuditRun.project_id))
        )
    ).first()


def _job_status(session: Session, audit: AuditRun) -> JobStatus | None:
    if audit.job_id is None:
        return None
    job = session.get(JobRun, audit.job_id)
    return None if job is None else job.status


def public_audit(session: Session, audit: AuditRun) -> AuditRunPublic:
    result = AuditRunPublic.model_validate(audit)
    job_status = _job_status(session, audit)
    # A job that failed or was cancelled part-way leaves the audit where it stopped.
    if audit.status != AuditStatus.completed and job_status in (
        JobStatus.failed,
        JobStatus.cancelled,
    ):
        result.status = AuditStatus(str(job_status))
    return result


def list_audits(*, session: Session, project: Project, page: PageRequest) -> Page[AuditRunPublic]:
    statement = (
        select(AuditRun)
        .where(col(AuditRun.project_id) == project.id)
        .order_by(col(AuditRun.started_at).desc(), col(AuditRun.id))
    )
    found = paginate(session, statement, page)
    return found.with_rows([public_audit(session, row) for row in found.rows])


def audit_summary(*, session: Session, audit: AuditRun) -> AuditSummaryPublic:
    params = {"id": audit.id}
    by_status = count_by(session, PAGES_BY_STATUS, params)
    resources = count_by(session, RESOURCES_BY_STATUS, params)
    job_status = _job_status(session, audit)
    return AuditSummaryPublic(
        audit=public_audit(session, audit),
        job_status=None if job_status is None else str(job_status),
        pages_total=sum(by_status.values()),
        pages_by_status=by_status,
        resources_total=sum(resources.values()),
        resources_by_status=resources,
        issues_by_severity=count_by(session, ISSUES_BY_SEVERITY, params),
        issues_by_code=count_by(session, ISSUES_BY_CODE, params),
    )


def _page_filters(
    audit_id: uuid.UUID,
    *,
    status: str | None,
    issue_code: str | None,
    url_contains: str | None,
    kind: str | None = None,
) -> list[Any]:
    where: list[Any] = [col(AuditPage.audit_id) == audit_id]
    if kind == "page":
        where.append(~col(AuditPage.is_resource))
    elif kind == "resource":
        where.append(col(AuditPage.is_resource))
    if status is not None:
        if status.endswith("xx"):  # a class, 1xx to 5xx, as the route's pattern allows
            low = int(status[0]) * 100
            where.append(col(AuditPage.status_code).between(low, low + 99))
        elif status == "error":
            where.append(col(AuditPage.status_code).is_(None))
            where.append(~col(AuditPage.blocked_by_robots))
        elif status == "blocked":
            where.append(col(AuditPage.blocked_by_robots))
        else:
            where.append(col(AuditPage.status_code) == int(status))
    if issue_code is not None:
        where.append(
            sa.exists().where(
                col(AuditIssue.audit_id) == audit_id,
                col(AuditIssue.url) == col(AuditPage.url),
                col(AuditIssue.code) == issue_code,
            )
        )
    # PostgreSQL text cannot hold NUL: such a search simply matches nothing.
    url_contains = url_contains.replace("\x00", "") if url_contains else None
    if url_contains:
        escaped = url_contains.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append(col(AuditPage.url).ilike(f"%{escaped}%", escape="\\"))
    return where


def list_pages(
    *,
    session: Session,
    audit: AuditRun,
    status: str | None = None,
    issue_code: str | None = None,
    url_contains: str | None = None,
    kind: str | None = None,
    page: PageRequest,
) -> Page[AuditPagePublic]:
    """The audit's URLs, filtered; `kind` "page" or "resource" lists what the summary
    counts as pages_total or resources_total."""
    where = _page_filters(
        audit.id, status=status, issue_code=issue_code, url_contains=url_contains, kind=kind
    )
    found = paginate(session, select(AuditPage).where(*where).order_by(col(AuditPage.id)), page)
    codes: dict[str, list[str]] = {}
    if found.rows:
        for url, code in session.execute(
            select(AuditIssue.url, AuditIssue.code).where(
                col(AuditIssue.audit_id) == audit.id,
                col(AuditIssue.url).in_([row.url for row in found.rows]),
            )
        ).all():
            codes.setdefault(url, []).append(code)
    public = [
        AuditPagePublic.model_validate(row, update={"issue_codes": sorted(codes.get(row.url, []))})
        for row in found.rows
    ]
    return found.with_rows(public)


def issue_groups(
    *,
    session: Session,
    audit: AuditRun,
    code: str | None,
    severity: Severity | None,
    urls_limit: int,
    urls_offset: int,
) -> list[IssueGroupPublic]:
    """Issues grouped by check, worst first, each with its affected URLs (paginated)."""
    counts = count_by(session, ISSUES_BY_CODE, {"id": audit.id})
    checks = [
        CATALOGUE[found]
        for found in counts
        if found in CATALOGUE
        and (code is None or found == code)
        and (severity is None or CATALOGUE[found].severity == severity)
    ]
    checks.sort(key=lambda check: (SEVERITY_ORDER[check.severity], -counts[check.code]))
    groups = []
    for check in checks:
        rows = session.exec(
            select(AuditIssue)
            .where(col(AuditIssue.audit_id) == audit.id, col(AuditIssue.code) == check.code)
            .order_by(col(AuditIssue.url))
            .offset(urls_offset)
            .limit(urls_limit)
        ).all()
        groups.append(
            IssueGroupPublic(
                **check.public().model_dump(),
                count=counts[check.code],
                urls=[IssueUrlPublic(url=row.url, details=row.details) for row in rows],
            )
        )
    return groups


def previous_audit(*, session: Session, audit: AuditRun) -> AuditRun | None:
    return session.exec(
        select(AuditRun)
        .where(
            col(AuditRun.project_id) == audit.project_id,
            col(AuditRun.status) == AuditStatus.completed,
            col(AuditRun.started_at) < audit.started_at,
            col(AuditRun.id) != audit.id,
        )
        .order_by(col(AuditRun.started_at).desc())
        .limit(1)
    ).first()


def _diff_entries(session: Session, query: str, params: dict[str, Any]) -> list[IssueDiffEntry]:
    entries = []
    for code, count, urls in session.execute(sa.text(query), params).all():
        check: Check | None = CATALOGUE.get(code)
        if check is None:
            continue
        entries.append(
            IssueDiffEntry(
                code=code, severity=check.severity, title=check.title, count=count, urls=urls
            )
        )
    entries.sort(key=lambda entry: (SEVERITY_ORDER[entry.severity], -entry.count))
    return entries


_DIFF = """
    SELECT a.code, count(*), (array_agg(a.url ORDER BY a.url))[1:{limit}]
    FROM audit_issues a
    WHERE a.audit_id = :left
      AND {negate} EXISTS (SELECT 1 FROM audit_issues b
                           WHERE b.audit_id = :right AND b.code = a.code AND b.url = a.url)
    GROUP BY a.code
"""


def audit_diff(*, session: Session, audit: AuditRun, urls_limit: int) -> AuditDiffPublic:
    """Issues new in this audit, fixed since the previous completed one, and persisting;
    an issue is the same when its check and URL are."""
    previous = previous_audit(session=session, audit=audit)
    if previous is None:
        new = _diff_entries(
            session,
            _DIFF.format(limit=urls_limit, negate="NOT"),
            {"left": audit.id, "right": uuid.uuid4()},
        )
        return AuditDiffPublic(
            audit_id=audit.id, previous_audit_id=None, new=new, fixed=[], persisting=[]
        )
    this, before = (
        {"left": audit.id, "right": previous.id},
        {
            "left": previous.id,
            "right": audit.id,
        },
    )
    return AuditDiffPublic(
        audit_id=audit.id,
        previous_audit_id=previous.id,
        new=_diff_entries(session, _DIFF.format(limit=urls_limit, negate="NOT"), this),
        fixed=_diff_entries(session, _DIFF.format(limit=urls_limit, negate="NOT"), before),
        persisting=_diff_entries(session, _DIFF.format(limit=urls_limit, negate=""), this),
    )


# --- Retention -------------------------------------------------------------------------


_OLD_AUDITS = sa.text("""
    DELETE FROM audit_runs WHERE id IN (
        SELECT id FROM audit_runs
        WHERE started_at < now() - make_interval(days => :days)
        ORDER BY started_at
        LIMIT :batch
    )
""")


def purge_old_audits(session: Session, batch: int) -> int:
    """Deletes at most `batch` audits older than AUDIT_RETENTION_DAYS, with their rows."""
    result = session.execute(_OLD_AUDITS, {"days": settings.AUDIT_RETENTION_DAYS, "batch": batch})
    return int(result.rowcount)  # type: ignore[attr-defined]


def audit_outcome(*, session: Session, job_id: uuid.UUID, top: int = 5) -> AuditOutcome | None:
    """The audit a job ran, compared with the project's previous completed audit (None when
    the job has no audit row). Without a previous audit nothing counts as new errors."""
    audit = audit_of_job(session=session, job_id=job_id)
    if audit is None:
        return None
    diff = audit_diff(session=session, audit=audit, urls_limit=3)
    previous = (
        None if diff.previous_audit_id is None else session.get(AuditRun, diff.previous_audit_id)
    )
    return AuditOutcome(
        audit_id=audit.id,
        previous_audit_id=diff.previous_audit_id,
        score=audit.score,
        previous_score=None if previous is None else previous.score,
        new_issues=sum(entry.count for entry in diff.new),
        fixed_issues=sum(entry.count for entry in diff.fixed),
        new_errors=0
        if previous is None
        else sum(entry.count for entry in diff.new if entry.severity == Severity.error),
        top_new=diff.new[:top],
    )
