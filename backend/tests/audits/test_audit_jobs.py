"""The audit job on the runtime: a crawl resumed after its worker is killed, cancellation
between batches, the weekly fan-out and retention. Real workers, PostgreSQL and Redis."""

import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from app.audits import service
from app.audits.models import AuditRun
from app.core.config import settings
from app.core.db import engine, session_scope
from app.jobs.models import JobRun, JobStatus
from app.jobs.rescue import sweep_stalled_jobs
from app.maintenance.service import cleanup_old_data
from tests.builders import create_project, create_user
from tests.fakes.site_server import Route, SiteServer, html_page
from tests.workers import celery_worker

pytestmark = pytest.mark.slow

PAGES = 300
WORKER_ENV = {
    "CRAWL_ALLOW_PRIVATE_NETWORKS": "true",
    "CRAWL_CONCURRENCY": "4",
    "CRAWL_PER_HOST_CONCURRENCY": "4",
    "CRAWL_PARSE_WORKERS": "0",
    "MAX_RENDER_PAGES": "0",
    "JOB_LEASE_SECONDS": "5",
}


def _slow_site(delay: float) -> SiteServer:
    """PAGES pages in a chain of hubs, each answering after `delay` seconds."""
    routes = {"/": html_page("".join(f"<a href='/p{i}'>p{i}</a>" for i in range(PAGES)))}
    for i in range(PAGES):
        page = html_page(f"<p>page {i}</p><a href='/'>home</a>", title=f"Page {i}")
        routes[f"/p{i}"] = Route(body=page.body, delay=delay)
    return SiteServer(routes).start()


@pytest.fixture
def slow_site() -> Iterator[SiteServer]:
    site = _slow_site(0.05)
    yield site
    site.stop()


def _stored_pages(job_id: uuid.UUID) -> set[str]:
    with engine.connect() as connection:
        return set(
            connection.execute(
                sa.text(
                    "SELECT p.url FROM audit_pages p JOIN audit_runs r ON r.id = p.audit_id "
                    "WHERE r.job_id = :id"
                ),
                {"id": job_id},
            ).scalars()
        )


def _job(job_id: uuid.UUID) -> JobRun:
    with session_scope() as session:
        job = session.get(JobRun, job_id)
        assert job is not None
        return job


def _wait(condition, timeout: float, what: str, worker=None) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    log = worker.log()[-3000:] if worker is not None else ""
    raise AssertionError(f"timed out waiting for {what}: {_job_state()} {log}")


def _start(session: Session, site: SiteServer) -> JobRun:
    project = create_project(
        session, owner=create_user(session), site_url=site.url + "/", render_enabled=False
    )
    job, created = service.start_audit(session=session, project=project, user=None)
    assert created
    return job


def test_a_killed_crawl_resumes_from_the_stored_pages(
    session: Session, slow_site: SiteServer
) -> None:
    with celery_worker(
        queues="default,render", concurrency=1, env=WORKER_ENV, include="app.audits.tasks"
    ) as first:
        job = _start(session, slow_site)
        _wait(lambda: len(_stored_pages(job.id)) >= 100, 60, "the first batches to be stored")
        first.kill()
    stored_before = _stored_pages(job.id)
    requests_before = len(slow_site.requests)
    assert 100 <= len(stored_before) < PAGES + 1
    assert _job(job.id).status == JobStatus.running

    with celery_worker(
        queues="default,render", concurrency=1, env=WORKER_ENV, include="app.audits.tasks"
    ) as second:
        time.sleep(float(WORKER_ENV["JOB_LEASE_SECONDS"]) + 0.5)  # the lease runs out
        report = sweep_stalled_jobs(requeue_after_seconds=60)
        assert str(job.id) in str(report)
        _wait(
            lambda: _job(job.id).status in (JobStatus.completed, JobStatus.failed),
            90,
            "the resumed audit to finish",
            second,
        )

    done = _job(job.id)
    assert done.status == JobStatus.completed, done.error_message
    assert done.attempts == 2
    assert done.result_json is not None
    assert done.result_json["pages"] == PAGES + 1
    assert len(_stored_pages(job.id)) == PAGES + 1
    # The second attempt fetched none of the pages the first one had stored.
    refetched = {r.path for r in slow_site.requests[requests_before:]} & {
        url.removeprefix(slow_site.url) for url in stored_before
    }
    assert refetched <= {"/"}, sorted(refetched)[:10]
    assert done.progress_pct == 100
    assert done.progress_current == PAGES + 1


def test_cancel_stops_the_crawl_between_batches(session: Session) -> None:
    site = _slow_site(0.2)
    try:
        with celery_worker(
            queues="default,render", concurrency=1, env=WORKER_ENV, include="app.audits.tasks"
        ):
            job = _start(session, site)
            _wait(lambda: len(_stored_pages(job.id)) >= 50, 60, "the first batch")
            with session_scope() as own:
                own.execute(
                    sa.text("UPDATE job_runs SET cancel_requested_at = now() WHERE id = :id"),
                    {"id": job.id},
                )
                own.commit()
            _wait(lambda: _job(job.id).status == JobStatus.cancelled, 30, "the cancel")
            stored = len(_stored_pages(job.id))
            requested = len(site.requests)
            time.sleep(1.5)
            assert len(site.requests) == requested  # nothing fetched after the stop
            assert stored < PAGES
            cancelled = _job(job.id)
            # Real progress up to the stop: the counts of what was stored.
            assert cancelled.progress_current == stored
            assert (cancelled.progress_message or "").startswith("Crawling")
        with session_scope() as own:
            audit = own.exec(select(AuditRun).where(AuditRun.job_id == job.id)).one()
            assert service.public_audit(own, audit).status == "cancelled"
    finally:
        site.stop()


def test_weekly_audits_start_once_per_project_per_week(session: Session) -> None:
    owner = create_user(session)
    weekly = [
        create_project(
            session, owner=owner, site_url=f"https://w{i}.example.com", weekly_audit_enabled=True
        )
        for i in range(3)
    ]
    create_project(session, owner=owner, site_url="https://manual.example.com")
    sunday = datetime(2026, 11, 22, 1, 0, tzinfo=UTC)

    started = service.run_scheduled_audits(session=session, now=sunday)
    assert len(started) == 3
    assert service.run_scheduled_audits(session=session, now=sunday) == []
    # Finished audits do not make the week's audit run again.
    session.execute(sa.text("UPDATE job_runs SET status = 'completed'"))
    session.commit()
    assert service.run_scheduled_audits(session=session, now=sunday + timedelta(hours=5)) == []
    next_week = service.run_scheduled_audits(session=session, now=sunday + timedelta(days=7))
    assert len(next_week) == 3
    jobs = session.exec(select(JobRun)).all()
    assert sorted(str(j.project_id) for j in jobs) == sorted([str(p.id) for p in weekly] * 2)
    assert {j.config_json["scheduled_week"] for j in jobs} == {"2026-W47", "2026-W48"}


def test_retention_removes_old_audits_with_their_rows(session: Session) -> None:
    project = create_project(session, owner=create_user(session))
    old = AuditRun(project_id=project.id, started_at=datetime.now(UTC) - timedelta(days=400))
    recent = AuditRun(project_id=project.id)
    session.add_all([old, recent])
    session.commit()
    session.execute(
        sa.text(
            "INSERT INTO audit_pages (audit_id, url, depth, size_bytes, is_html, indexable,"
            " noindex, nofollow, blocked_by_robots, in_sitemap, word_count,"
            " internal_link_count, external_link_count, script_count, empty_app_root,"
            " noscript_hint, redirect_chain, titles, meta_descriptions, meta_robots,"
            " x_robots_tag, canonicals, h1, h2, heading_levels, hreflang, images,"
            " structured_data_types, insecure_resources, insecure_form_actions, crawled_at,"
            " is_resource, blocked_for_agent, sitemap_count, facts)"
            " VALUES (:a, 'https://example.com/', 0, 0, true, true, false, false, false, false,"
            " 0, 0, 0, 0, false, false, '[]', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}',"
            " '[]', '[]', '{}', '{}', '{}', now(), false, false, 0, '{}')"
        ),
        {"a": old.id},
    )
    session.commit()
    import app.audits.tasks  # noqa: F401 - registers the audits' retention rule

    deleted = cleanup_old_data(session=session)
    assert deleted["audit_runs"] == 1
    remaining = session.exec(select(AuditRun.id)).all()
    assert remaining == [recent.id]
    assert session.execute(sa.text("SELECT count(*) FROM audit_pages")).scalar_one() == 0


def test_retention_removes_every_expired_audit_in_one_run(session: Session) -> None:
    project = create_project(session, owner=create_user(session))
    expired_at = datetime.now(UTC) - timedelta(days=settings.AUDIT_RETENTION_DAYS + 1)
    session.add_all([AuditRun(project_id=project.id, started_at=expired_at) for _ in range(12)])
    fresh = [AuditRun(project_id=project.id) for _ in range(3)]
    session.add_all(fresh)
    session.commit()
    import app.audits.tasks  # noqa: F401 - registers the audits' retention rule

    deleted = cleanup_old_data(session=session)

    assert deleted["audit_runs"] == 12
    remaining = set(session.exec(select(AuditRun.id)).all())
    assert remaining == {audit.id for audit in fresh}


def _job_state() -> object:
    with engine.connect() as connection:
        return connection.execute(
            sa.text("SELECT status, stage, attempts, progress_message, error_message FROM job_runs")
        ).all()


def test_without_a_browser_the_audit_completes_and_says_why(session: Session) -> None:
    site = SiteServer(
        {"/": html_page("<a href='/a'>a</a>"), "/a": html_page("<a href='/'>home</a>")}
    ).start()
    env = {**WORKER_ENV, "BROWSER_EXECUTABLE_PATH": "/nonexistent/chromium"}
    try:
        with celery_worker(
            queues="default,render", concurrency=1, env=env, include="app.audits.tasks"
        ) as worker:
            project = create_project(session, owner=create_user(session), site_url=site.url + "/")
            job, _ = service.start_audit(session=session, project=project, user=None)
            _wait(
                lambda: _job(job.id).status in (JobStatus.completed, JobStatus.failed),
                60,
                "the audit",
                worker,
            )
        done = _job(job.id)
        assert done.status == JobStatus.completed, done.error_message
        assert done.result_json is not None
        assert done.result_json["render_status"] == "skipped"
        assert done.result_json["pages"] == 2
        with session_scope() as own:
            audit = own.exec(select(AuditRun).where(AuditRun.job_id == job.id)).one()
            assert audit.render_status == "skipped"
            assert "BROWSER_EXECUTABLE_PATH=/nonexistent/chromium" in (
                audit.render_skipped_reason or ""
            )
            assert audit.score is not None
    finally:
        site.stop()


def test_the_audit_runs_on_the_config_frozen_at_its_start(session: Session) -> None:
    site = SiteServer(
        {"/": html_page("".join(f"<a href='/p{i}'>p{i}</a>" for i in range(5)))}
        | {f"/p{i}": html_page("<a href='/'>home</a>") for i in range(5)}
    ).start()
    env = {**WORKER_ENV, "BROWSER_EXECUTABLE_PATH": "/nonexistent/chromium"}
    try:
        project = create_project(
            session,
            owner=create_user(session),
            site_url=site.url + "/",
            max_crawl_pages=3,
            render_enabled=True,
        )
        job, _ = service.start_audit(session=session, project=project, user=None)
        # Changed after the start, before any stage ran: not this audit's business.
        project.render_enabled = False
        project.max_crawl_pages = 100
        project.site_url = "http://127.0.0.1:9/"
        session.add(project)
        session.commit()
        with celery_worker(
            queues="default,render", concurrency=1, env=env, include="app.audits.tasks"
        ) as worker:
            _wait(
                lambda: _job(job.id).status in (JobStatus.completed, JobStatus.failed),
                60,
                "the audit",
                worker,
            )
        done = _job(job.id)
        assert done.status == JobStatus.completed, done.error_message
        assert done.result_json is not None
        assert done.result_json["pages"] == 3
        with session_scope() as own:
            audit = own.exec(select(AuditRun).where(AuditRun.job_id == job.id)).one()
        # Rendering was on when the audit started: only the missing browser stopped it.
        assert "BROWSER_EXECUTABLE_PATH=/nonexistent/chromium" in (
            audit.render_skipped_reason or ""
        )
    finally:
        site.stop()


def test_a_stage_never_writes_the_audit_row_it_reads(session: Session) -> None:
    project = create_project(session, owner=create_user(session), render_enabled=False)
    job, _ = service.start_audit(session=session, project=project, user=None)
    session.execute(sa.text("DELETE FROM audit_runs WHERE job_id = :id"), {"id": job.id})
    session.commit()
    with celery_worker(
        queues="default", concurrency=1, env=WORKER_ENV, include="app.audits.tasks"
    ) as worker:
        _wait(lambda: _job(job.id).status == JobStatus.failed, 30, "the audit to fail", worker)
    failed = _job(job.id)
    assert "no audit row" in (failed.error_message or "")
    assert failed.attempts == 1  # permanent: not retried
    assert session.exec(select(AuditRun)).all() == []


def test_an_unreachable_site_fails_as_such_after_its_retries(session: Session) -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    env = {
        **WORKER_ENV,
        "JOB_RETRY_BACKOFF_BASE_SECONDS": "0.1",
        "JOB_RETRY_BACKOFF_CAP_SECONDS": "1",
    }
    with celery_worker(
        queues="default", concurrency=1, env=env, include="app.audits.tasks"
    ) as worker:
        project = create_project(
            session, owner=create_user(session), site_url=f"http://127.0.0.1:{closed_port}/"
        )
        job, _ = service.start_audit(session=session, project=project, user=None)
        _wait(lambda: _job(job.id).status == JobStatus.failed, 90, "the audit to fail", worker)
    failed = _job(job.id)
    assert failed.error_category == "site_unreachable"
    assert f"127.0.0.1:{closed_port}" in (failed.error_message or "")
    assert "could not be reached (robots.txt: connection error)" in (failed.error_message or "")
    assert failed.attempts == failed.max_attempts > 1
    assert _stored_pages(job.id) == set()  # "blocked by robots.txt" would have been a lie


def test_an_audit_nothing_will_render_never_waits_for_the_render_queue(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A deployment with no render worker: audits whose config renders nothing, and audits
    that would render but find no worker to do it, go from crawl straight to analyze."""
    site = SiteServer(
        {"/": html_page("<a href='/a'>a</a>"), "/a": html_page("<a href='/'>home</a>")}
    ).start()
    owner = create_user(session)
    cases = {
        "off": ({"render_enabled": False}, 3, "rendering is turned off in the project's settings"),
        "zero": ({}, 0, "MAX_RENDER_PAGES is 0"),
        "no worker": ({}, 3, "no worker consumes the render queue"),
    }
    try:
        with celery_worker(
            queues="default", concurrency=1, env=WORKER_ENV, include="app.audits.tasks"
        ) as worker:
            jobs = {}
            for name, (fields, max_render, _) in cases.items():
                project = create_project(session, owner=owner, site_url=site.url + "/", **fields)
                monkeypatch.setattr(settings, "MAX_RENDER_PAGES", max_render)
                jobs[name], _ = service.start_audit(session=session, project=project, user=None)
            for name, job in jobs.items():
                _wait(
                    lambda job=job: _job(job.id).status in (JobStatus.completed, JobStatus.failed),
                    60,
                    f"the audit ({name})",
                    worker,
                )
        for name, job in jobs.items():
            done = _job(job.id)
            assert done.status == JobStatus.completed, (name, done.error_message)
            assert done.result_json is not None
            assert done.result_json["render_status"] == "skipped"
            with session_scope() as own:
                audit = own.exec(select(AuditRun).where(AuditRun.job_id == job.id)).one()
            assert audit.render_skipped_reason == cases[name][2]
            assert audit.stats_json["render"] == {"pages_rendered": 0, "reason": cases[name][2]}
    finally:
        site.stop()


def test_one_worker_for_every_queue_crawls_after_rendering(session: Session) -> None:
    """A small deployment's single worker (concurrency 1: one process runs every stage): the
    crawl of audit B runs in the process where audit A's render stage left a browser."""
    if not os.path.exists("/usr/bin/chromium"):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    site = SiteServer(
        {"/": html_page("<a href='/a'>a</a>"), "/a": html_page("<a href='/'>home</a>")}
    ).start()
    env = {**WORKER_ENV, "MAX_RENDER_PAGES": "2", "BROWSER_EXECUTABLE_PATH": "/usr/bin/chromium"}
    owner = create_user(session)
    try:
        with celery_worker(
            queues="default,render", concurrency=1, env=env, include="app.audits.tasks"
        ) as worker:
            results = []
            for _ in ("A", "B"):
                project = create_project(session, owner=owner, site_url=site.url + "/")
                job, _ = service.start_audit(session=session, project=project, user=None)
                _wait(
                    lambda job=job: _job(job.id).status in (JobStatus.completed, JobStatus.failed),
                    90,
                    "the audit",
                    worker,
                )
                results.append(_job(job.id))
        for done in results:
            assert done.status == JobStatus.completed, (done.error_category, done.error_message)
            assert done.result_json is not None
            assert done.result_json["render_status"] == "rendered"
            assert done.result_json["pages"] == 2
    finally:
        site.stop()


def test_a_site_on_a_private_address_fails_as_such(session: Session) -> None:
    """With private networks refused (production's default), an audit of a loopback site
    fails at once and says which setting allows it; it does not "complete" with one page."""
    env = {**WORKER_ENV, "CRAWL_ALLOW_PRIVATE_NETWORKS": "false"}
    with (
        SiteServer({"/": html_page("<a href='/a'>a</a>")}) as site,
        celery_worker(queues="default", concurrency=1, env=env, include="app.audits.tasks") as w,
    ):
        project = create_project(session, owner=create_user(session), site_url=site.url + "/")
        job, _ = service.start_audit(session=session, project=project, user=None)
        _wait(
            lambda: _job(job.id).status in (JobStatus.completed, JobStatus.failed),
            60,
            "the audit",
            w,
        )
        assert site.requested_paths == []
    failed = _job(job.id)
    assert failed.status == JobStatus.failed, failed.result_json
    assert failed.error_category == "blocked_address"
    message = failed.error_message or ""
    assert "127.0.0.1" in message
    assert "private" in message
    assert "CRAWL_ALLOW_PRIVATE_NETWORKS=true" in message
    assert failed.attempts == 1  # no retry can change where the site is
    assert _stored_pages(job.id) == set()
