"""Audits: starting them, the three stages of the audit job, and reading the results.

One tracked job runs an audit across stages (DESIGN.md): `crawl` on the default queue stores
pages as they come, hands off to `render` on the render queue (headless Chromium for the pages
that need it, skipped with a reason when there is no browser), which hands off to `analyze`
back on the default queue (site-wide SQL checks, score, stats). Every stage starts from what
is stored, so a retried or rescued stage resumes instead of starting over.
"""

import asyncio
import csv
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, func, select

from app.audits import storage
from app.audits.checks.catalogue import CATALOGUE, SEVERITY_ORDER, Check
from app.audits.checks.site_checks import run_site_checks
from app.audits.crawler import CrawlConfig, CrawlResume, CrawlSummary, crawl
from app.audits.models import (
    AuditDiffPublic,
    AuditIssue,
    AuditPage,
    AuditPagePublic,
    AuditRun,
    AuditRunPublic,
    AuditStatus,
    AuditSummaryPublic,
    IssueDiffEntry,
    IssueGroupPublic,
    IssueUrlPublic,
    RenderStatus,
    Severity,
)
from app.audits.page import CrawledPage, FetchError
from app.core.config import Settings, settings
from app.core.db import session_scope, utcnow
from app.core.logging import get_logger
from app.core.memory import release_free_memory
from app.jobs import service as jobs_service
from app.jobs.models import JobRun, JobStatus, JobType
from app.jobs.runtime import HandOff, JobContext, PermanentJobError, TransientJobError
from app.projects.models import Project
from app.users.models import User

logger = get_logger(__name__)

# Shares of the job's progress bar per stage: crawling is most of the work.
CRAWL_SHARE, RENDER_SHARE = 85.0, 10.0
STORE_BATCH = 100
# Pages per on_batch: the grain of progress, cancellation and resume.
CRAWL_BATCH = 50
# How much worse a page with errors is than one with warnings or notices only (the score).
PAGE_PENALTY = {Severity.error: 1.0, Severity.warning: 0.5, Severity.notice: 0.1}


def audit_dedupe_key(project_id: uuid.UUID) -> str:
    return f"{JobType.audit.value}:{project_id}"


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
    """Starts an audit job for the project, or returns its active one (created=False)."""
    config = audit_config(project=project)
    if scheduled_week is not None:
        config["scheduled_week"] = scheduled_week
    job, created = jobs_service.start_job(
        session=session,
        job_type=JobType.audit,
        stage="crawl",
        project=project,
        user=user,
        config=config,
        dedupe_key=audit_dedupe_key(project.id),
    )
    if created:
        audit_for_job(session=session, job_id=job.id, project_id=project.id, config=config)
        session.commit()
    return job, created


def audit_for_job(
    *, session: Session, job_id: uuid.UUID, project_id: uuid.UUID, config: dict[str, Any]
) -> AuditRun:
    """The audit run of a job, created on first use (by the API or the first stage)."""
    session.execute(
        insert(AuditRun)
        .values(id=uuid.uuid4(), project_id=project_id, job_id=job_id, config_json=config)
        .on_conflict_do_nothing(index_elements=["job_id"])
    )
    return session.exec(select(AuditRun).where(col(AuditRun.job_id) == job_id)).one()


def run_scheduled_audits(*, session: Session, now: datetime | None = None) -> list[uuid.UUID]:
    """Starts this week's audit for every project that asked for weekly audits. A project
    already audited by schedule this ISO week is skipped, so a second Beat firing (or a
    re-run) starts nothing; the active-audit key keeps concurrent starts to one."""
    week = iso_week(now or utcnow())
    already = select(JobRun.project_id).where(
        col(JobRun.job_type) == JobType.audit,
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


# --- Stage 1: crawl --------------------------------------------------------------------


def _load_audit(session: Session, job: JobContext) -> tuple[AuditRun, Project]:
    if job.project_id is None:
        raise PermanentJobError("an audit job needs a project")
    project = session.get(Project, job.project_id)
    if project is None:
        raise PermanentJobError("the project of this audit no longer exists")
    audit = audit_for_job(
        session=session, job_id=job.job_id, project_id=project.id, config=job.config
    )
    session.commit()
    return audit, project


def crawl_config(
    *, project: Project, config: dict[str, Any], app_settings: Settings = settings
) -> CrawlConfig:
    base = CrawlConfig.for_project(project, app_settings)
    return replace(
        base,
        start_url=config.get("start_url", base.start_url),
        max_pages=int(config.get("max_pages", base.max_pages)),
        max_depth=int(config.get("max_depth", base.max_depth)),
        include_subdomains=bool(config.get("include_subdomains", base.include_subdomains)),
    )


def crawl_resume(*, session: Session, audit_id: uuid.UUID) -> CrawlResume | None:
    """What an earlier attempt of this crawl stored: None when nothing was."""
    visited = storage.stored_urls(session=session, audit_id=audit_id)
    if not visited:
        return None
    return CrawlResume(
        visited=visited,
        frontier=storage.unfetched_link_targets(session=session, audit_id=audit_id),
    )


class _CrawlRecorder:
    """`on_batch` of the crawl: stores each batch in one transaction (in a thread, so the
    crawl keeps fetching meanwhile) and reports real counts as progress."""

    def __init__(
        self, *, session: Session, job: JobContext, audit_id: uuid.UUID, max_pages: int
    ) -> None:
        self.session = session
        self.job = job
        self.audit_id = audit_id
        self.max_pages = max_pages
        self.known = storage.stored_urls(session=session, audit_id=audit_id)
        self.stored = len(self.known)

    def _store(self, pages: list[CrawledPage]) -> int:
        added = storage.store_pages(session=self.session, audit_id=self.audit_id, pages=pages)
        self.session.commit()
        release_free_memory()  # the batch's bodies and rows are freed by now
        return added

    async def __call__(self, pages: list[CrawledPage]) -> None:
        self.job.checkpoint()  # cancellation between batches
        for offset in range(0, len(pages), STORE_BATCH):
            self.stored += await asyncio.to_thread(
                self._store, pages[offset : offset + STORE_BATCH]
            )
        for page in pages:
            self.known.add(page.url)
            self.known.update(link.url for link in page.links if link.internal)
        # The total is what the crawl knows of so far, capped by the page budget.
        total = max(self.stored, min(self.max_pages, len(self.known)))
        self.job.progress(
            pct=CRAWL_SHARE * self.stored / max(total, 1),
            current=self.stored,
            total=total,
            message=f"Crawling {self.stored:,} / {total:,} pages",
        )


def _summary_json(summary: CrawlSummary) -> dict[str, Any]:
    return {
        "pages_crawled": summary.pages_crawled,
        "stopped_reason": summary.stopped_reason,
        "robots_txt_found": summary.robots_txt_found,
        "sitemaps_fetched": summary.sitemaps_fetched[:50],
        "sitemap_urls": len(summary.sitemap_urls),
        "errors": summary.errors,
        "robots_txt_error": summary.robots_txt_error,
    }


# Fetch errors that say the site did not answer at all, as opposed to answering badly.
_NO_ANSWER = {FetchError.TIMEOUT.value, FetchError.CONNECTION.value, FetchError.TLS.value}


def site_unreachable_reason(
    *, session: Session, audit_id: uuid.UUID, summary: CrawlSummary
) -> str | None:
    """Why the site could not be audited at all: no page answered, and robots.txt or the
    pages failed for want of an answer. None when any page answered."""
    answered = session.exec(
        select(func.count())
        .select_from(AuditPage)
        .where(AuditPage.audit_id == audit_id, col(AuditPage.status_code).is_not(None))
    ).one()
    if answered:
        return None
    if summary.robots_txt_error in _NO_ANSWER:
        return f"robots.txt: {summary.robots_txt_error.replace('_', ' ')}"
    failures = [code for code in _NO_ANSWER if summary.errors.get(code)]
    return ", ".join(sorted(code.replace("_", " ") for code in failures)) or None


def crawl_stage(job: JobContext, *, app_settings: Settings = settings) -> HandOff:
    with session_scope() as session:
        audit, project = _load_audit(session, job)
        config = crawl_config(project=project, config=job.config, app_settings=app_settings)
        resume = crawl_resume(session=session, audit_id=audit.id)
        if resume is not None:
            logger.info(
                "audit_crawl_resumed", stored=len(resume.visited), frontier=len(resume.frontier)
            )
        recorder = _CrawlRecorder(
            session=session, job=job, audit_id=audit.id, max_pages=config.max_pages
        )
        job.partial_result = {"audit_id": str(audit.id)}
        job.progress(pct=0, message="Crawling")
        summary = asyncio.run(
            crawl(config, on_batch=recorder, resume=resume, batch_size=CRAWL_BATCH)
        )
        unreachable = site_unreachable_reason(session=session, audit_id=audit.id, summary=summary)
        if unreachable is not None:
            # Retried later from scratch: what was stored says only that nothing answered.
            storage.delete_pages(session=session, audit_id=audit.id)
            session.commit()
            raise TransientJobError(
                f"{config.start_url} could not be reached ({unreachable})",
                category="site_unreachable",
            )
        audit.stats_json = {**audit.stats_json, "crawl": _summary_json(summary)}
        audit.status = AuditStatus.rendering
        session.add(audit)
        session.commit()
        job.progress(
            pct=CRAWL_SHARE,
            current=recorder.stored,
            total=recorder.stored,
            message=f"Crawled {recorder.stored:,} pages",
        )
    return job.hand_off("render", message="Rendering")


# --- Stage 2: render -------------------------------------------------------------------


def render_skip_reason(
    *, project: Project | None, config: dict[str, Any], app_settings: Settings = settings
) -> str | None:
    """Why this audit renders nothing, or None when it renders."""
    from app.audits.renderer import browser_unavailable_reason

    if not config.get("render_enabled", True) or (project and not project.render_enabled):
        return "rendering is turned off in the project's settings"
    if int(config.get("max_render_pages", app_settings.MAX_RENDER_PAGES)) <= 0:
        return "MAX_RENDER_PAGES is 0"
    return browser_unavailable_reason(app_settings)


def _render_candidates(session: Session, audit_id: uuid.UUID, limit: int) -> list[CrawledPage]:
    """HTML pages that answered 200, with their links, most script-heavy first: a bounded
    pool for the renderer's own choice by need."""
    rows = session.exec(
        select(AuditPage)
        .where(
            col(AuditPage.audit_id) == audit_id,
            col(AuditPage.status_code) == 200,
            col(AuditPage.is_html),
        )
        .order_by(
            col(AuditPage.empty_app_root).desc(),
            col(AuditPage.noscript_hint).desc(),
            col(AuditPage.word_count),
            col(AuditPage.script_count).desc(),
            col(AuditPage.id),
        )
        .limit(max(limit * 10, 200))
    ).all()
    return [
        storage.page_from_row(
            row, storage.load_links(session=session, audit_id=audit_id, source_url=row.url)
        )
        for row in rows
    ]


def _mark_render(
    session: Session, audit: AuditRun, status: RenderStatus, reason: str | None, count: int
) -> None:
    audit.render_status = status
    audit.render_skipped_reason = reason
    audit.stats_json = {**audit.stats_json, "render": {"pages_rendered": count, "reason": reason}}
    audit.status = AuditStatus.analyzing
    session.add(audit)
    session.commit()


def render_stage(job: JobContext, *, app_settings: Settings = settings) -> HandOff:
    from app.audits.renderer import choose_pages_to_render, get_renderer

    with session_scope() as session:
        audit, project = _load_audit(session, job)
        reason = render_skip_reason(project=project, config=job.config, app_settings=app_settings)
        if reason is not None:
            logger.info("audit_render_skipped", reason=reason)
            _mark_render(session, audit, RenderStatus.skipped, reason, 0)
            return job.hand_off("analyze", message="Checking")
        limit = int(job.config.get("max_render_pages", app_settings.MAX_RENDER_PAGES))
        candidates = _render_candidates(session, audit.id, limit)
        chosen = choose_pages_to_render(candidates, limit)
        by_url = {page.url: page for page in candidates}
        done = {
            url
            for url in session.exec(
                select(AuditPage.url).where(
                    col(AuditPage.audit_id) == audit.id, col(AuditPage.rendered).is_not(None)
                )
            )
        }
        renderer = get_renderer(app_settings)
        total = len(chosen)
        for index, url in enumerate(chosen, 1):
            job.checkpoint()
            if url not in done:  # a resumed stage skips what an earlier attempt rendered
                page = by_url[url]
                view = renderer.render(url, raw=page)
                storage.store_rendered_view(
                    session=session, audit_id=audit.id, page=page, view=view
                )
                session.commit()
            job.progress(
                pct=CRAWL_SHARE + RENDER_SHARE * index / max(total, 1),
                message=f"Rendering {index:,} / {total:,}",
            )
        _mark_render(session, audit, RenderStatus.rendered, None, total)
    return job.hand_off("analyze", message="Checking")


# --- Stage 3: analyze ------------------------------------------------------------------


def _count_by(session: Session, statement: Any, params: dict[str, Any]) -> dict[str, int]:
    return {str(key): int(count) for key, count in session.execute(statement, params).all()}


_PAGES_BY_STATUS = sa.text("""
    SELECT CASE
             WHEN blocked_by_robots THEN 'blocked'
             WHEN status_code IS NULL THEN 'error'
             ELSE (status_code / 100)::text || 'xx'
           END AS bucket, count(*)
    FROM audit_pages WHERE audit_id = :id GROUP BY bucket
""")
_ISSUES_BY_SEVERITY = sa.text(
    "SELECT severity, count(*) FROM audit_issues WHERE audit_id = :id GROUP BY severity"
)
_ISSUES_BY_CODE = sa.text(
    "SELECT code, count(*) FROM audit_issues WHERE audit_id = :id GROUP BY code"
)
_PAGE_PENALTIES = sa.text("""
    SELECT coalesce(sum(CASE worst WHEN 'error' THEN :error WHEN 'warning' THEN :warning
                                   ELSE :notice END), 0)
    FROM (
        SELECT i.url,
               min(CASE i.severity WHEN 'error' THEN 'error' WHEN 'warning' THEN 'warning'
                                   ELSE 'notice' END) AS worst
        FROM audit_issues i
        JOIN audit_pages p ON p.audit_id = i.audit_id AND p.url = i.url
        WHERE i.audit_id = :id
        GROUP BY i.url
    ) per_page
""")


def audit_score(*, session: Session, audit_id: uuid.UUID) -> int | None:
    """0-100: the share of healthy pages, where a page with errors counts as fully
    unhealthy, one with warnings as half and one with only notices as a tenth."""
    pages = session.execute(
        sa.text("SELECT count(*) FROM audit_pages WHERE audit_id = :id"), {"id": audit_id}
    ).scalar_one()
    if not pages:
        return None
    penalty = session.execute(
        _PAGE_PENALTIES,
        {"id": audit_id, **{severity.value: weight for severity, weight in PAGE_PENALTY.items()}},
    ).scalar_one()
    return max(0, min(100, round(100 * (1 - float(penalty) / int(pages)))))


def analyze_stage(job: JobContext) -> dict[str, Any]:
    with session_scope() as session:
        audit, _ = _load_audit(session, job)
        job.progress(pct=CRAWL_SHARE + RENDER_SHARE, message="Checking")
        added = run_site_checks(session=session, audit_id=audit.id)
        session.commit()
        job.checkpoint()
        params = {"id": audit.id}
        stats = {
            **audit.stats_json,
            "pages_by_status": _count_by(session, _PAGES_BY_STATUS, params),
            "issues_by_severity": _count_by(session, _ISSUES_BY_SEVERITY, params),
            "issues_by_code": _count_by(session, _ISSUES_BY_CODE, params),
            "site_issues_added": {code: n for code, n in added.items() if n},
        }
        audit.stats_json = stats
        audit.score = audit_score(session=session, audit_id=audit.id)
        audit.status = AuditStatus.completed
        audit.finished_at = utcnow()
        session.add(audit)
        session.commit()
        pages = sum(stats["pages_by_status"].values())
        issues = sum(stats["issues_by_severity"].values())
        job.progress(pct=100, message=f"Checked {pages:,} pages: {issues:,} issues")
        return {
            "audit_id": str(audit.id),
            "pages": pages,
            "issues": issues,
            "score": audit.score,
            "render_status": str(audit.render_status),
        }


# --- Reading results -------------------------------------------------------------------


def get_audit_for_user(*, session: Session, audit_id: uuid.UUID, user: User) -> AuditRun | None:
    """The audit, if the user may see it (through its project); else None, like a miss."""
    audit = session.get(AuditRun, audit_id)
    if audit is None:
        return None
    project = session.get(Project, audit.project_id)
    if project is None or not (user.is_superuser or project.owner_id == user.id):
        return None
    return audit


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


def list_audits(
    *, session: Session, project: Project, limit: int, offset: int
) -> tuple[list[AuditRunPublic], int]:
    where = col(AuditRun.project_id) == project.id
    count = session.exec(select(func.count()).select_from(AuditRun).where(where)).one()
    rows = session.exec(
        select(AuditRun)
        .where(where)
        .order_by(col(AuditRun.started_at).desc(), col(AuditRun.id))
        .offset(offset)
        .limit(limit)
    ).all()
    return [public_audit(session, row) for row in rows], count


def audit_summary(*, session: Session, audit: AuditRun) -> AuditSummaryPublic:
    params = {"id": audit.id}
    by_status = _count_by(session, _PAGES_BY_STATUS, params)
    job_status = _job_status(session, audit)
    return AuditSummaryPublic(
        audit=public_audit(session, audit),
        job_status=None if job_status is None else str(job_status),
        pages_total=sum(by_status.values()),
        pages_by_status=by_status,
        issues_by_severity=_count_by(session, _ISSUES_BY_SEVERITY, params),
        issues_by_code=_count_by(session, _ISSUES_BY_CODE, params),
    )


def _page_filters(
    audit_id: uuid.UUID, *, status: str | None, issue_code: str | None, url_contains: str | None
) -> list[Any]:
    where: list[Any] = [col(AuditPage.audit_id) == audit_id]
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
    limit: int,
    offset: int,
) -> tuple[list[AuditPagePublic], int]:
    where = _page_filters(audit.id, status=status, issue_code=issue_code, url_contains=url_contains)
    count = session.exec(select(func.count()).select_from(AuditPage).where(*where)).one()
    rows = session.exec(
        select(AuditPage).where(*where).order_by(col(AuditPage.id)).offset(offset).limit(limit)
    ).all()
    codes: dict[str, list[str]] = {}
    if rows:
        for url, code in session.execute(
            select(AuditIssue.url, AuditIssue.code).where(
                col(AuditIssue.audit_id) == audit.id,
                col(AuditIssue.url).in_([row.url for row in rows]),
            )
        ).all():
            codes.setdefault(url, []).append(code)
    return [
        AuditPagePublic.model_validate(row, update={"issue_codes": sorted(codes.get(row.url, []))})
        for row in rows
    ], count


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
    counts = _count_by(session, _ISSUES_BY_CODE, {"id": audit.id})
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


# --- CSV exports -----------------------------------------------------------------------

PAGE_CSV_COLUMNS = (
    "url",
    "status_code",
    "final_url",
    "error",
    "depth",
    "indexable",
    "title",
    "meta_description",
    "h1",
    "word_count",
    "response_time_ms",
    "size_bytes",
    "canonical_url",
    "in_sitemap",
    "internal_link_count",
    "issue_count",
)
ISSUE_CSV_COLUMNS = ("url", "code", "severity", "title", "details")
CSV_CHUNK = 1000


def _csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if value is None else value for value in values])
    return buffer.getvalue()


def pages_csv(*, audit_id: uuid.UUID) -> Iterator[str]:
    """The audit's pages as CSV lines, read in keyset-paginated chunks with a session of
    its own (the response streams after the request's session is gone)."""
    yield _csv_line(list(PAGE_CSV_COLUMNS))
    last_id = 0
    while True:
        with session_scope() as session:
            rows = session.execute(
                sa.text("""
                    SELECT p.id, p.url, p.status_code, p.final_url, p.error, p.depth,
                           p.indexable, p.title, p.meta_description, p.h1[1], p.word_count,
                           p.response_time_ms, p.size_bytes, p.canonical_url, p.in_sitemap,
                           p.internal_link_count,
                           (SELECT count(*) FROM audit_issues i
                            WHERE i.audit_id = p.audit_id AND i.url = p.url)
                    FROM audit_pages p
                    WHERE p.audit_id = :id AND p.id > :last
                    ORDER BY p.id LIMIT :chunk
                """),
                {"id": audit_id, "last": last_id, "chunk": CSV_CHUNK},
            ).all()
        if not rows:
            return
        for row in rows:
            yield _csv_line(list(row[1:]))
        last_id = rows[-1][0]


def issues_csv(*, audit_id: uuid.UUID) -> Iterator[str]:
    yield _csv_line(list(ISSUE_CSV_COLUMNS))
    last_id = 0
    while True:
        with session_scope() as session:
            rows = session.execute(
                sa.text("""
                    SELECT id, url, code, severity, details FROM audit_issues
                    WHERE audit_id = :id AND id > :last ORDER BY id LIMIT :chunk
                """),
                {"id": audit_id, "last": last_id, "chunk": CSV_CHUNK},
            ).all()
        if not rows:
            return
        for _id, url, code, severity, details in rows:
            check = CATALOGUE.get(code)
            title = check.title if check else code
            yield _csv_line([url, code, severity, title, json.dumps(details)])
        last_id = rows[-1][0]


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
    """Deletes audits older than AUDIT_RETENTION_DAYS (pages, links and issues cascade).
    An audit holds thousands of rows, so a batch of audits is a small number of them."""
    result = session.execute(
        _OLD_AUDITS, {"days": settings.AUDIT_RETENTION_DAYS, "batch": max(1, batch // 1000)}
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
