"""Backlinks (merged across imports), the imports with their reports, and Search Console's
summary rows."""

import uuid
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.pagination import PagePublic
from app.jobs.models import JobStatus
from app.links.rows import KEPT_REJECTIONS


class Backlink(SQLModel, table=True):
    """One link from a source page to a page of the project's site. The key is the project
    and `link_key`, the md5 of the two URLs (URLs of 2 KB each would not fit a btree key):
    the upsert's conflict target. It is the only index: every other would be maintained for
    each of the hundreds of thousands of rows an import writes (measured: a second index
    on referring_domain made the upsert about half as fast), and the reads are of one
    project, the primary key's leading column.

    No foreign key to projects, for the same reason: its check is a lookup per inserted row,
    a third of the upsert's database time (measured). A deleted project's backlinks are
    unreachable at once (every read goes through the project) and removed by the daily
    clean-up (service.purge_orphan_backlinks, declared in domain.py)."""

    __tablename__ = "backlinks"

    project_id: uuid.UUID = Field(primary_key=True)
    link_key: uuid.UUID = Field(primary_key=True)
    source_url: str = Field(max_length=2048)
    target_url: str = Field(max_length=2048)
    referring_domain: str = Field(max_length=255)
    anchor: str | None = Field(default=None, max_length=1000)
    source_title: str | None = Field(default=None, max_length=1000)
    first_seen: date | None = None
    last_seen: date | None = None
    lost: bool = False
    lost_on: date | None = None
    nofollow: bool = False
    ugc: bool = False
    sponsored: bool = False
    # The source tool's metric of the linking page or site (Ahrefs DR, Semrush page AS,
    # Majestic source TF); the import says which.
    authority: float | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class LinkImport(SQLModel, table=True):
    """One uploaded export and its report; its status is its job's."""

    __tablename__ = "link_imports"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    user_id: uuid.UUID | None = Field(default=None, foreign_key="users.id", ondelete="SET NULL")
    job_id: uuid.UUID | None = Field(
        default=None, foreign_key="job_runs.id", ondelete="SET NULL", index=True
    )
    file_name: str = Field(max_length=255)
    format: str = Field(max_length=32)
    encoding: str = Field(max_length=32)
    delimiter: str = Field(max_length=1)
    bytes: int = Field(sa_type=sa.BigInteger)
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    new: int = 0
    updated: int = 0
    # The first KEPT_REJECTIONS rejected rows: {line, reason, source_url, target_url}.
    rejections: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB)
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class LinkSummaryRow(SQLModel, table=True):
    """A row of Search Console's Links report summaries (top linking sites: a site, its
    linking pages and target pages; top linked pages: a page, its incoming links and linking
    sites), the latest import of each kind replacing the previous one."""

    __tablename__ = "link_summary_rows"
    __table_args__ = (sa.UniqueConstraint("project_id", "kind", "item"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=sa.BigInteger)
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    import_id: uuid.UUID = Field(foreign_key="link_imports.id", ondelete="CASCADE", index=True)
    kind: str = Field(max_length=32)
    item: str = Field(max_length=2048)
    first_count: int = Field(sa_type=sa.BigInteger)
    second_count: int = Field(sa_type=sa.BigInteger)


# --- API schemas ---------------------------------------------------------------------------


class BacklinkPublic(SQLModel):
    source_url: str
    target_url: str
    referring_domain: str
    anchor: str | None
    source_title: str | None
    first_seen: date | None
    last_seen: date | None
    lost: bool
    lost_on: date | None
    nofollow: bool
    ugc: bool
    sponsored: bool
    authority: float | None


class BacklinksPublic(PagePublic):
    data: list[BacklinkPublic]


class ReferringDomainPublic(SQLModel):
    domain: str
    links: int
    dofollow_links: int
    lost_links: int
    first_seen: date | None
    last_seen: date | None


class ReferringDomainsPublic(PagePublic):
    data: list[ReferringDomainPublic]


class AnchorPublic(SQLModel):
    anchor: str  # "" for links without anchor text (images, empty anchors)
    links: int
    referring_domains: int


class AnchorsPublic(SQLModel):
    data: list[AnchorPublic]


class TimelinePointPublic(SQLModel):
    start: date  # the first day of the bucket (a Monday for weeks)
    new: int  # links first seen in the bucket
    lost: int  # links lost in the bucket


class TimelinePublic(SQLModel):
    interval: str
    start: date
    end: date
    data: list[TimelinePointPublic]


class LinkRejectionPublic(SQLModel):
    line: int
    reason: str
    source_url: str | None = None
    target_url: str | None = None


class LinkImportPublic(SQLModel):
    id: uuid.UUID
    project_id: uuid.UUID
    job_id: uuid.UUID | None
    # The job's status (None once the job's row is purged by retention: see finished_at).
    status: JobStatus | None
    file_name: str
    format: str
    format_label: str
    # What `authority` measures in this import (None: the format has no such metric).
    authority_metric: str | None
    encoding: str
    bytes: int
    rows: int
    accepted: int
    rejected: int
    new: int
    updated: int
    created_at: datetime
    finished_at: datetime | None


class LinkImportReportPublic(LinkImportPublic):
    rejections: list[LinkRejectionPublic]
    rejections_kept: int = KEPT_REJECTIONS


class LinkImportsPublic(PagePublic):
    data: list[LinkImportPublic]


class LinkSummaryRowPublic(SQLModel):
    item: str
    first_count: int
    second_count: int


class LinkSummaryPublic(PagePublic):
    kind: str
    # What the two counts are, for people ("linking pages", "target pages").
    first_count_label: str
    second_count_label: str
    data: list[LinkSummaryRowPublic]
