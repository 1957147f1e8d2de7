"""Audits: starting them, the three stages of the audit job, and reading the results.

One tracked job runs an audit across stages (docs/architecture.md, "The job seam"): `crawl`
on the default queue stores pages as they come, hands off to `render` on the render queue
(headless Chromium for the pages that need it), which hands off to `analyze` back on the
default queue (site-wide SQL checks, score, stats). When nothing will render (turned off,
MAX_RENDER_PAGES=0, no render worker or none with a browser), the crawl records render as
skipped with the reason and hands off to `analyze` itself. Every stage starts from what is
stored, so a retried or rescued stage resumes instead of starting over.
"""

import asyncio
import uuid
from typing import Any

from sqlmodel import Session, col, func, select

from app.audits import storage
from app.audits.checks.site_checks import run_site_checks
from app.audits.crawl.crawler import CrawlConfig, CrawlResume, CrawlSummary, crawl
from app.audits.crawl.urls import normalize_url
from app.audits.models import (
    AuditPage,
    AuditRun,
    AuditStatus,
    RenderStatus,
)
from app.audits.page import CrawledPage, FetchError
from app.audits.render.workers import nothing_will_render_reason
from app.audits.scoring import (
    ISSUES_BY_CODE,
    ISSUES_BY_SEVERITY,
    PAGES_BY_STATUS,
    RESOURCES_BY_STATUS,
    audit_score,
    count_by,
)
from app.audits.service import audit_of_job
from app.core.config import Settings, settings
from app.core.db import session_scope, utcnow
from app.core.logging import get_logger
from app.core.memory import release_free_memory
from app.jobs.runtime import HandOff, JobContext, PermanentJobError, TransientJobError

logger = get_logger(__name__)

# Shares of the job's progress bar per stage: crawling is most of the work.
CRAWL_SHARE, RENDER_SHARE = 85.0, 10.0
STORE_BATCH = 100
# Pages per on_batch: the grain of progress, cancellation and resume.
CRAWL_BATCH = 50


# --- Stage 1: crawl --------------------------------------------------------------------


def _load_audit(session: Session, job: JobContext) -> AuditRun:
    """The audit row recorded with the job (audits.service.record_audit_row): read, never
    written here. Its config_json, frozen when the audit started, is all the stages use."""
    audit = audit_of_job(session=session, job_id=job.job_id)
    if audit is None:
        raise PermanentJobError("this audit job has no audit row")
    return audit


def crawl_config(*, config: dict[str, Any], app_settings: Settings = settings) -> CrawlConfig:
    """The crawl of an audit's frozen config; how to crawl (concurrency, timeouts) is the
    worker's settings. Keys missing from an older config take today's defaults."""
    try:
        start_url = str(config["start_url"])
    except KeyError:
        raise PermanentJobError("the audit's config has no start_url") from None
    return CrawlConfig.for_site(
        start_url=start_url,
        max_pages=int(config.get("max_pages") or app_settings.MAX_CRAWL_PAGES),
        max_depth=int(config.get("max_depth", app_settings.MAX_CRAWL_DEPTH)),
        include_subdomains=bool(config.get("include_subdomains", False)),
        settings=app_settings,
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
        "robots_txt_status": summary.robots_txt_status,
        "sitemap_stats": summary.sitemap_stats[:50],
        "sitemap_listed_twice": summary.sitemap_listed_twice,
        "missing_page_probe": summary.missing_page_probe,
        "external_links": summary.external_links,
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


def blocked_address_reason(*, session: Session, audit_id: uuid.UUID, start_url: str) -> str | None:
    """The SSRF guard's refusal of the start URL, when it is why nothing answered: the site
    itself is on a private address, which no retry will change."""
    start = normalize_url(start_url) or start_url
    row = session.exec(
        select(AuditPage.error, AuditPage.error_detail).where(
            AuditPage.audit_id == audit_id, AuditPage.url == start
        )
    ).first()
    if row is None or row[0] != FetchError.BLOCKED_PRIVATE_ADDRESS.value:
        return None
    answered = session.exec(
        select(func.count())
        .select_from(AuditPage)
        .where(AuditPage.audit_id == audit_id, col(AuditPage.status_code).is_not(None))
    ).one()
    return None if answered else row[1] or "a private or reserved address"


def crawl_stage(job: JobContext, *, app_settings: Settings = settings) -> HandOff:
    with session_scope() as session:
        audit = _load_audit(session, job)
        config = crawl_config(config=audit.config_json, app_settings=app_settings)
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
        refused = blocked_address_reason(
            session=session, audit_id=audit.id, start_url=config.start_url
        )
        if refused is not None:
            storage.delete_pages(session=session, audit_id=audit.id)
            session.commit()
            raise PermanentJobError(
                f"{config.start_url} was not crawled: {refused}. Sites on private networks "
                "are audited only when the operator sets CRAWL_ALLOW_PRIVATE_NETWORKS=true.",
                category="blocked_address",
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
        # Decided here, from the audit's frozen config and the live workers: an audit that
        # nothing will render must not wait on a render queue that may have no consumer.
        skip = render_config_skip_reason(config=audit.config_json, app_settings=app_settings)
        audit.stats_json = {**audit.stats_json, "crawl": _summary_json(summary)}
        session.add(audit)
        session.commit()  # no transaction stays open while the workers are asked
        job.progress(
            pct=CRAWL_SHARE,
            current=recorder.stored,
            total=recorder.stored,
            message=f"Crawled {recorder.stored:,} pages",
        )
        skip = skip or nothing_will_render_reason()
        if skip is not None:
            logger.info("audit_render_skipped", reason=skip)
            _mark_render(session, audit, RenderStatus.skipped, skip, 0)
            return job.hand_off("analyze", message="Checking")
        audit.status = AuditStatus.rendering
        session.add(audit)
        session.commit()
    return job.hand_off("render", message="Rendering")


# --- Stage 2: render -------------------------------------------------------------------


def render_skip_reason(*, config: dict[str, Any], app_settings: Settings = settings) -> str | None:
    """Why this audit renders nothing, or None when it renders (`config` is the audit's,
    frozen when it started: a project changed since does not change this audit)."""
    from app.audits.render.renderer import browser_unavailable_reason

    return render_config_skip_reason(
        config=config, app_settings=app_settings
    ) or browser_unavailable_reason(app_settings)


RENDER_TURNED_OFF = "rendering is turned off in the project's settings"


def render_config_skip_reason(
    *, config: dict[str, Any], app_settings: Settings = settings
) -> str | None:
    """Why the audit's frozen config asks for no rendering at all, or None."""
    if not config.get("render_enabled", True):
        return RENDER_TURNED_OFF
    if int(config.get("max_render_pages", app_settings.MAX_RENDER_PAGES)) <= 0:
        return "MAX_RENDER_PAGES is 0"
    return None


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
    from app.audits.render.renderer import choose_pages_to_render, get_renderer

    with session_scope() as session:
        audit = _load_audit(session, job)
        reason = render_skip_reason(config=audit.config_json, app_settings=app_settings)
        if reason is not None:
            logger.info("audit_render_skipped", reason=reason)
            _mark_render(session, audit, RenderStatus.skipped, reason, 0)
            return job.hand_off("analyze", message="Checking")
        limit = int(audit.config_json.get("max_render_pages", app_settings.MAX_RENDER_PAGES))
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
                current=index,
                total=total,
                message=f"Rendering {index:,} / {total:,}",
            )
        _mark_render(session, audit, RenderStatus.rendered, None, total)
    return job.hand_off("analyze", message="Checking")


# --- Stage 3: analyze ------------------------------------------------------------------


def analyze_stage(job: JobContext) -> dict[str, Any]:
    with session_scope() as session:
        audit = _load_audit(session, job)
        job.progress(pct=CRAWL_SHARE + RENDER_SHARE, message="Checking")
        added = run_site_checks(session=session, audit_id=audit.id)
        session.commit()
        job.checkpoint()
        params = {"id": audit.id}
        stats = {
            **audit.stats_json,
            "pages_by_status": count_by(session, PAGES_BY_STATUS, params),
            "resources_by_status": count_by(session, RESOURCES_BY_STATUS, params),
            "issues_by_severity": count_by(session, ISSUES_BY_SEVERITY, params),
            "issues_by_code": count_by(session, ISSUES_BY_CODE, params),
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
        job.progress(
            pct=100,
            current=pages,
            total=pages,
            message=f"Checked {pages:,} pages: {issues:,} issues",
        )
        return {
            "audit_id": str(audit.id),
            "pages": pages,
            "issues": issues,
            "score": audit.score,
            "render_status": str(audit.render_status),
        }
