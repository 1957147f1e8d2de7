"""Audit service pieces that need no worker: starting (the audit row recorded with its job),
why rendering is skipped, the crawl of a frozen config, the score, weeks."""

import threading
import uuid
from datetime import UTC, datetime

import pytest
import redis
import sqlalchemy as sa
from sqlmodel import Session, select

from app.audits import scoring, service, stages, storage
from app.audits.crawl.crawler import CrawlConfig
from app.audits.models import AuditRun
from app.core.config import settings
from app.core.db import engine
from app.jobs import service as jobs_service
from app.jobs.models import JobRun, JobStatus
from app.jobs.runtime import PermanentJobError
from app.projects.models import Project
from tests.audits.pages import SITE, good_page
from tests.builders import create_project, create_user
from tests.jobs.messages import published_job_ids


def _audits(session: Session) -> list[AuditRun]:
    return list(session.exec(select(AuditRun).execution_options(populate_existing=True)).all())


def test_the_audit_row_is_committed_with_its_job_before_it_is_published(
    session: Session, redis_client: "redis.Redis[bytes]"
) -> None:
    project = create_project(session, owner=create_user(session), max_crawl_pages=7)

    job, created = service.start_audit(session=session, project=project, user=None)
    again, created_again = service.start_audit(session=session, project=project, user=None)

    assert created
    assert not created_again
    assert again.id == job.id
    [audit] = _audits(session)  # the active job returned: no second audit row
    assert (audit.job_id, audit.project_id) == (job.id, project.id)
    assert audit.config_json == job.config_json
    assert audit.config_json["max_pages"] == 7
    assert published_job_ids(redis_client) == [str(job.id)]


def test_concurrent_starts_make_one_audit_job_and_one_audit_row(session: Session) -> None:
    project = create_project(session, owner=create_user(session))
    barrier = threading.Barrier(20)
    results: list[tuple[uuid.UUID, bool]] = []
    errors: list[BaseException] = []

    def start_once() -> None:
        try:
            barrier.wait(timeout=10)
            with Session(engine) as own:
                mine = own.get(Project, project.id)
                assert mine is not None
                job, created = service.start_audit(session=own, project=mine, user=None)
            results.append((job.id, created))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start_once) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len({job_id for job_id, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    assert [audit.job_id for audit in _audits(session)] == [results[0][0]]


def test_an_audit_job_and_its_row_roll_back_together(
    session: Session, redis_client: "redis.Redis[bytes]"
) -> None:
    project = create_project(session, owner=create_user(session))

    job, created = jobs_service.record_job(
        session=session,
        job_type="audit",
        stage="crawl",
        project=project,
        user=None,
        config=service.audit_config(project=project),
    )
    assert created
    assert session.exec(select(AuditRun).where(AuditRun.job_id == job.id)).one()
    session.rollback()

    assert session.exec(select(JobRun)).all() == []
    assert _audits(session) == []
    assert published_job_ids(redis_client) == []


def test_a_retried_audit_gets_its_audit_row_with_the_frozen_config(session: Session) -> None:
    project = create_project(session, owner=create_user(session), max_crawl_pages=7)
    job, _ = service.start_audit(session=session, project=project, user=None)
    session.execute(sa.text("UPDATE job_runs SET status = 'failed' WHERE id = :id"), {"id": job.id})
    session.commit()
    project.max_crawl_pages = 99
    session.add(project)
    session.commit()

    failed = session.get(JobRun, job.id, populate_existing=True)
    assert failed is not None
    assert failed.status == JobStatus.failed
    retried, created = jobs_service.retry_job(session=session, job=failed, user=None)

    assert created
    audits = {audit.job_id: audit for audit in _audits(session)}
    assert set(audits) == {job.id, retried.id}
    assert audits[retried.id].config_json == audits[job.id].config_json
    assert audits[retried.id].config_json["max_pages"] == 7


def test_the_crawl_is_the_frozen_config_with_the_workers_crawl_settings(session: Session) -> None:
    project = create_project(
        session,
        owner=create_user(session),
        site_url="https://frozen.example.com/",
        max_crawl_pages=12,
        max_crawl_depth=3,
        include_subdomains=True,
    )
    frozen = service.audit_config(project=project)
    project.site_url, project.max_crawl_pages = "https://changed.example.com/", 1

    config = stages.crawl_config(config=frozen)

    assert config == CrawlConfig.for_site(
        start_url="https://frozen.example.com/",
        max_pages=12,
        max_depth=3,
        include_subdomains=True,
        settings=settings,
    )
    assert config.concurrency == settings.CRAWL_CONCURRENCY
    with pytest.raises(PermanentJobError):
        stages.crawl_config(config={})


def test_render_skip_reason_names_the_cause() -> None:
    no_browser = settings.model_copy(update={"BROWSER_EXECUTABLE_PATH": "/nonexistent/chrome"})
    reason = stages.render_skip_reason(config={}, app_settings=no_browser)
    assert reason is not None
    assert "/nonexistent/chrome" in reason
    assert "turned off" in (stages.render_skip_reason(config={"render_enabled": False}) or "")
    assert "MAX_RENDER_PAGES" in (stages.render_skip_reason(config={"max_render_pages": 0}) or "")


def test_score_counts_pages_by_their_worst_issue(session: Session) -> None:
    project = create_project(session, owner=create_user(session), site_url=SITE)
    audit = AuditRun(project_id=project.id)
    session.add(audit)
    session.commit()
    assert scoring.audit_score(session=session, audit_id=audit.id) is None
    pages = [good_page(f"{SITE}/ok-{i}") for i in range(6)] + [
        good_page(f"{SITE}/error", titles=[]),  # an error: counts fully
        good_page(f"{SITE}/warning", lang=None),  # a warning: half
        good_page(f"{SITE}/warning-too", lang=None, viewport=None),  # still half
        good_page(f"{SITE}/notice", structured_data_types=[]),  # a notice: a tenth
    ]
    storage.store_pages(session=session, audit_id=audit.id, pages=pages)
    session.commit()
    # 10 pages, penalty 1 + 0.5 + 0.5 + 0.1 = 2.1 -> 79
    assert scoring.audit_score(session=session, audit_id=audit.id) == 79


def test_iso_week() -> None:
    assert service.iso_week(datetime(2026, 11, 22, 1, 0, tzinfo=UTC)) == "2026-W47"
    assert service.iso_week(datetime(2027, 1, 1, tzinfo=UTC)) == "2026-W53"
