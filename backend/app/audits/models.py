"""Audit tables: one run per audit job, its pages, the links between them and the issues
the checks found. Pages, links and issues are written in batches by `storage.py`."""

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.pagination import PagePublic


class AuditStatus(StrEnum):
    crawling = "crawling"
    rendering = "rendering"
    analyzing = "analyzing"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class RenderStatus(StrEnum):
    pending = "pending"
    rendered = "rendered"
    skipped = "skipped"


class Severity(StrEnum):
    error = "error"
    warning = "warning"
    notice = "notice"


def _text_array() -> Any:
    return Field(default_factory=list, sa_type=ARRAY(sa.Text))


def _json_list() -> Any:
    return Field(default_factory=list, sa_type=JSONB)


class AuditRunBase(SQLModel):
    status: AuditStatus = Field(default=AuditStatus.crawling, sa_type=sa.String(16))
    started_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    score: int | None = None
    render_status: RenderStatus = Field(default=RenderStatus.pending, sa_type=sa.String(16))
    render_skipped_reason: str | None = Field(default=None, max_length=500)


class AuditRun(AuditRunBase, table=True):
    __tablename__ = "audit_runs"
    __table_args__ = (
        # A project's audits, newest first (lists, "previous audit" for the diff).
        sa.Index("ix_audit_runs_project_id_started_at", "project_id", sa.text("started_at DESC")),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    # The tracked job that runs this audit; one audit per job.
    job_id: uuid.UUID | None = Field(
        default=None, foreign_key="job_runs.id", ondelete="SET NULL", unique=True
    )
    config_json: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    stats_json: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)


class AuditRunPublic(AuditRunBase):
    id: uuid.UUID
    project_id: uuid.UUID
    job_id: uuid.UUID | None
    config_json: dict[str, Any]
    stats_json: dict[str, Any]


class AuditRunsPublic(PagePublic):
    data: list[AuditRunPublic]


class AuditPageBase(SQLModel):
    url: str = Field(sa_type=sa.Text)
    depth: int
    final_url: str | None = Field(default=None, sa_type=sa.Text)
    # The requested URL's own answer (a redirect keeps its 3xx) and where its chain ended.
    status_code: int | None = None
    final_status_code: int | None = None
    error: str | None = Field(default=None, max_length=64)
    error_detail: str | None = Field(default=None, sa_type=sa.Text)
    # Time to first byte of the request alone; the body's download time apart.
    response_time_ms: float | None = None
    download_time_ms: float | None = None
    size_bytes: int = 0
    content_type: str | None = Field(default=None, max_length=255)
    is_html: bool = False
    # An image, script, style sheet or other resource: counted apart from pages.
    is_resource: bool = False
    # Derived facts the filters and the site-wide checks use.
    indexable: bool = False
    noindex: bool = False
    nofollow: bool = False
    blocked_by_robots: bool = False
    # robots.txt disallows the search engine the audit is for (we may still fetch it).
    blocked_for_agent: bool = False
    in_sitemap: bool = False
    sitemap_count: int = 0
    title: str | None = Field(default=None, sa_type=sa.Text)
    meta_description: str | None = Field(default=None, sa_type=sa.Text)
    canonical_url: str | None = Field(default=None, sa_type=sa.Text)  # resolved, normalized
    word_count: int = 0
    body_hash: str | None = Field(default=None, max_length=128)
    # SimHash of the main content (64 bits, signed as PostgreSQL's bigint).
    simhash: int | None = Field(default=None, sa_type=sa.BigInteger)
    title_px: int | None = None
    description_px: int | None = None
    lang: str | None = Field(default=None, max_length=64)
    viewport: str | None = Field(default=None, sa_type=sa.Text)
    meta_refresh: str | None = Field(default=None, sa_type=sa.Text)
    canonical_header: str | None = Field(default=None, sa_type=sa.Text)
    internal_link_count: int = 0
    external_link_count: int = 0
    script_count: int = 0
    # Signs that scripts build the page (the render stage's choice by need).
    empty_app_root: bool = False
    noscript_hint: bool = False


class AuditPage(AuditPageBase, table=True):
    __tablename__ = "audit_pages"
    __table_args__ = (
        sa.UniqueConstraint("audit_id", "url", name="uq_audit_pages_audit_id_url"),
        sa.Index("ix_audit_pages_audit_id_status_code", "audit_id", "status_code"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    audit_id: uuid.UUID = Field(foreign_key="audit_runs.id", ondelete="CASCADE")
    redirect_chain: list[dict[str, Any]] = _json_list()
    titles: list[str] = _text_array()
    meta_descriptions: list[str] = _text_array()
    meta_robots: list[str] = _text_array()
    x_robots_tag: list[str] = _text_array()
    canonicals: list[str] = _text_array()
    h1: list[str] = _text_array()
    h2: list[str] = _text_array()
    heading_levels: list[int] = Field(default_factory=list, sa_type=ARRAY(sa.SmallInteger))
    hreflang: list[dict[str, Any]] = _json_list()
    images: list[dict[str, Any]] = _json_list()
    structured_data_types: list[str] = _text_array()
    insecure_resources: list[str] = _text_array()
    insecure_form_actions: list[str] = _text_array()
    rendered: dict[str, Any] | None = Field(default=None, sa_type=JSONB(none_as_null=True))
    # Markup facts of the newer checks (elements in the wrong place, duplicate ids, JSON-LD
    # errors, missing security headers...), as the page checks read them.
    facts: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    crawled_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class AuditPagePublic(AuditPageBase):
    id: int
    titles: list[str]
    h1: list[str]
    redirect_chain: list[dict[str, Any]]
    rendered: dict[str, Any] | None
    issue_codes: list[str] = []


class AuditPagesPublic(PagePublic):
    data: list[AuditPagePublic]


class AuditLink(SQLModel, table=True):
    __tablename__ = "audit_links"
    __table_args__ = (
        # Inlink counts and "internal links to broken pages" join on the target.
        sa.Index("ix_audit_links_audit_id_target_url", "audit_id", "target_url"),
        sa.Index("ix_audit_links_audit_id_source_url", "audit_id", "source_url"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    audit_id: uuid.UUID = Field(foreign_key="audit_runs.id", ondelete="CASCADE")
    source_url: str = Field(sa_type=sa.Text)
    target_url: str = Field(sa_type=sa.Text)
    anchor_text: str = Field(default="", sa_type=sa.Text)
    nofollow: bool = False
    internal: bool = True
    # Found only in the page as rendered by the browser, absent from its raw HTML.
    rendered_only: bool = False


class AuditIssue(SQLModel, table=True):
    __tablename__ = "audit_issues"
    __table_args__ = (
        # One issue per (check, URL); also serves "issues of this code" lookups.
        sa.UniqueConstraint("audit_id", "code", "url", name="uq_audit_issues_audit_id_code_url"),
        sa.Index("ix_audit_issues_audit_id_url", "audit_id", "url"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    audit_id: uuid.UUID = Field(foreign_key="audit_runs.id", ondelete="CASCADE")
    url: str = Field(sa_type=sa.Text)
    code: str = Field(max_length=64)
    severity: Severity = Field(sa_type=sa.String(16))
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)


class CheckPublic(SQLModel):
    code: str
    severity: Severity
    category: str
    title: str
    description: str
    how_to_fix: str
    scope: str  # "page": one page at a time; "site": SQL over the whole audit


class ChecksPublic(SQLModel):
    data: list[CheckPublic]
    count: int


class IssueUrlPublic(SQLModel):
    url: str
    details: dict[str, Any]


class IssueGroupPublic(CheckPublic):
    count: int
    urls: list[IssueUrlPublic]


class IssueGroupsPublic(SQLModel):
    data: list[IssueGroupPublic]
    count: int


class AuditSummaryPublic(SQLModel):
    audit: AuditRunPublic
    job_status: str | None
    # Pages: HTML documents, redirects and URLs that failed; resources (images, scripts,
    # style sheets...) are counted apart.
    pages_total: int
    pages_by_status: dict[str, int]
    resources_total: int = 0
    resources_by_status: dict[str, int] = {}
    issues_by_severity: dict[str, int]
    issues_by_code: dict[str, int]


class IssueDiffEntry(SQLModel):
    code: str
    severity: Severity
    title: str
    count: int
    urls: list[str]


class AuditDiffPublic(SQLModel):
    audit_id: uuid.UUID
    previous_audit_id: uuid.UUID | None
    new: list[IssueDiffEntry]
    fixed: list[IssueDiffEntry]
    persisting: list[IssueDiffEntry]


class AuditOutcome(SQLModel):
    """A finished audit against the previous completed one, for notifications: its score,
    counts of issues (an issue is a check on a URL) new and fixed, the new ones of severity
    error, and the top new problems."""

    audit_id: uuid.UUID
    previous_audit_id: uuid.UUID | None
    score: int | None
    previous_score: int | None
    new_issues: int
    fixed_issues: int
    new_errors: int
    top_new: list[IssueDiffEntry]
