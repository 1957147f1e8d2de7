"""Audit service pieces that need no worker: why rendering is skipped, the score, weeks."""

from datetime import UTC, datetime

from sqlmodel import Session

from app.audits import scoring, service, stages, storage
from app.audits.models import AuditRun
from app.core.config import settings
from tests.audits.pages import SITE, good_page
from tests.builders import create_project, create_user


def test_render_skip_reason_names_the_cause() -> None:
    no_browser = settings.model_copy(update={"BROWSER_EXECUTABLE_PATH": "/nonexistent/chrome"})
    reason = stages.render_skip_reason(project=None, config={}, app_settings=no_browser)
    assert reason is not None
    assert "/nonexistent/chrome" in reason
    assert "turned off" in (
        stages.render_skip_reason(project=None, config={"render_enabled": False}) or ""
    )
    assert "MAX_RENDER_PAGES" in (
        stages.render_skip_reason(project=None, config={"max_render_pages": 0}) or ""
    )


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
