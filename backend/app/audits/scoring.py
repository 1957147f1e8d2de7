"""An audit's tallies (pages by status, issues by severity and by code) and its score."""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session

from app.audits.models import (
    Severity,
)

# How much worse a page with errors is than one with warnings or notices only (the score).
PAGE_PENALTY = {Severity.error: 1.0, Severity.warning: 0.5, Severity.notice: 0.1}


def count_by(session: Session, statement: Any, params: dict[str, Any]) -> dict[str, int]:
    return {str(key): int(count) for key, count in session.execute(statement, params).all()}


_BY_STATUS = """
    SELECT CASE
             WHEN blocked_by_robots THEN 'blocked'
             WHEN status_code IS NULL THEN 'error'
             ELSE (status_code / 100)::text || 'xx'
           END AS bucket, count(*)
    FROM audit_pages WHERE audit_id = :id AND {kind} GROUP BY bucket
"""
# Pages (HTML documents, redirects, URLs that failed) and resources (images, scripts, style
# sheets...) apart: "pages crawled" counts the pages the pages table lists by default.
PAGES_BY_STATUS = sa.text(_BY_STATUS.format(kind="NOT is_resource"))
RESOURCES_BY_STATUS = sa.text(_BY_STATUS.format(kind="is_resource"))
ISSUES_BY_SEVERITY = sa.text(
    "SELECT severity, count(*) FROM audit_issues WHERE audit_id = :id GROUP BY severity"
)
ISSUES_BY_CODE = sa.text(
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
        JOIN audit_pages p ON p.audit_id = i.audit_id AND p.url = i.url AND NOT p.is_resource
        WHERE i.audit_id = :id
        GROUP BY i.url
    ) per_page
""")


def audit_score(*, session: Session, audit_id: uuid.UUID) -> int | None:
    """0-100: the share of healthy pages (resources aside), where a page with errors counts as fully
    unhealthy, one with warnings as half and one with only notices as a tenth."""
    pages = session.execute(
        sa.text("SELECT count(*) FROM audit_pages WHERE audit_id = :id AND NOT is_resource"),
        {"id": audit_id},
    ).scalar_one()
    if not pages:
        return None
    penalty = session.execute(
        _PAGE_PENALTIES,
        {"id": audit_id, **{severity.value: weight for severity, weight in PAGE_PENALTY.items()}},
    ).scalar_one()
    return max(0, min(100, round(100 * (1 - float(penalty) / int(pages)))))
