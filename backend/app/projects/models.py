import uuid
from datetime import datetime

import sqlalchemy as sa
from pydantic import field_validator
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.pagination import PagePublic
from app.projects.site_url import normalize_site_url


class ProjectSettingsFields(SQLModel):
    """Per-project crawl settings; None means the platform default from Settings."""

    max_crawl_pages: int | None = Field(default=None, ge=1, le=100_000)
    max_crawl_depth: int | None = Field(default=None, ge=0, le=100)
    render_enabled: bool = True
    weekly_audit_enabled: bool = False
    include_subdomains: bool = False


class ProjectBase(ProjectSettingsFields):
    name: str = Field(min_length=1, max_length=255)
    site_url: str = Field(min_length=1, max_length=2048)

    @field_validator("site_url")
    @classmethod
    def _normalize_site_url(cls, value: str) -> str:
        return normalize_site_url(value)


class ProjectCreate(ProjectBase):
    pass


class ProjectUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    site_url: str | None = Field(default=None, min_length=1, max_length=2048)
    max_crawl_pages: int | None = Field(default=None, ge=1, le=100_000)
    max_crawl_depth: int | None = Field(default=None, ge=0, le=100)
    render_enabled: bool | None = None
    weekly_audit_enabled: bool | None = None
    include_subdomains: bool | None = None

    @field_validator("site_url")
    @classmethod
    def _normalize_site_url(cls, value: str | None) -> str | None:
        return None if value is None else normalize_site_url(value)


class Project(ProjectBase, table=True):
    __tablename__ = "projects"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    owner_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),
    )
    updated_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),
    )


class ProjectPublic(ProjectBase):
    id: uuid.UUID
    owner_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    # Set by create and update only: why audits of the site would be refused (it resolves
    # to a private address the operator's settings do not allow).
    site_warning: str | None = None


class ProjectsPublic(PagePublic):
    data: list[ProjectPublic]
