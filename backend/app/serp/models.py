"""Rank tracking: the keywords a project tracks, one snapshot per keyword per UTC day, and
the API's schemas.

A keyword row carries the outcome of its latest check (what the keywords table shows, and
what orders the refresh: oldest-checked first); the snapshots carry the history. A failed
check updates the keyword's status but never a position, and never replaces a day's good
snapshot (service.record_check)."""

import datetime as dt
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import field_validator
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.pagination import PagePublic
from app.serp import codes

MAX_KEYWORD_LENGTH = 200
MAX_LOCATION_LENGTH = 200
MAX_TAGS = 20
MAX_TAG_LENGTH = 50

Device = Literal["desktop", "mobile"]
Provider = Literal["serpapi", "dataforseo"]


class CheckStatus(StrEnum):
    pending = "pending"  # never checked yet
    ranked = "ranked"  # found within the depth checked: position and url are set
    not_in_top_n = "not_in_top_n"  # checked, not within the depth
    failed = "failed"  # the check did not complete: no position recorded


def normalize_text(value: str) -> str:
    """Trimmed, runs of white space collapsed to one space."""
    return " ".join(value.split())


def normalize_tags(values: list[str]) -> list[str]:
    tags: list[str] = []
    for raw in values:
        tag = normalize_text(raw)
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"tag {tag[:20]!r}... is longer than {MAX_TAG_LENGTH} characters")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags per keyword")
    return tags


class KeywordCreate(SQLModel):
    text: str = Field(max_length=MAX_KEYWORD_LENGTH * 4)
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    language: str = Field(min_length=2, max_length=2, description="ISO 639-1")
    device: Device = "desktop"
    location: str | None = Field(default=None, max_length=MAX_LOCATION_LENGTH)
    tags: list[str] = Field(default_factory=list, max_length=MAX_TAGS)

    @field_validator("text")
    @classmethod
    def _text(cls, value: str) -> str:
        text = normalize_text(value)
        if not text:
            raise ValueError("the keyword is empty")
        if len(text) > MAX_KEYWORD_LENGTH:
            raise ValueError(f"the keyword is longer than {MAX_KEYWORD_LENGTH} characters")
        return text

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        return codes.country_code(value)

    @field_validator("language")
    @classmethod
    def _language(cls, value: str) -> str:
        return codes.language_code(value)

    @field_validator("location")
    @classmethod
    def _location(cls, value: str | None) -> str | None:
        return normalize_text(value) or None if value is not None else None

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: list[str]) -> list[str]:
        return normalize_tags(value)


class SerpKeyword(SQLModel, table=True):
    __tablename__ = "serp_keywords"
    __table_args__ = (
        # One keyword per (text in any case, country, language, device, location).
        sa.Index(
            "uq_serp_keywords_identity",
            "project_id",
            sa.text("lower(text)"),
            "country",
            "language",
            "device",
            sa.text("coalesce(location, '')"),
            unique=True,
        ),
        # The refresh takes the oldest-checked first.
        sa.Index("ix_serp_keywords_project_id_checked_at", "project_id", "checked_at"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    text: str = Field(max_length=MAX_KEYWORD_LENGTH)
    country: str = Field(max_length=2)
    language: str = Field(max_length=2)
    device: str = Field(max_length=8)
    location: str | None = Field(default=None, max_length=MAX_LOCATION_LENGTH)
    tags: list[str] = Field(default_factory=list, sa_type=ARRAY(sa.String(MAX_TAG_LENGTH)))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    # The latest check.
    status: str = Field(default=CheckStatus.pending, max_length=16)
    position: int | None = None
    url: str | None = Field(default=None, max_length=2048)
    checked_at: dt.datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    error: str | None = Field(default=None, max_length=500)
    best_position: int | None = None


class SerpSnapshot(SQLModel, table=True):
    """A keyword's check on one UTC day (a later check that day replaces it, unless it
    failed and the day's was good)."""

    __tablename__ = "serp_snapshots"
    __table_args__ = (
        sa.UniqueConstraint("keyword_id", "checked_on"),
        sa.Index("ix_serp_snapshots_project_id_checked_on", "project_id", "checked_on"),
    )

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    keyword_id: uuid.UUID = Field(foreign_key="serp_keywords.id", ondelete="CASCADE")
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    checked_on: dt.date = Field(index=True)
    checked_at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))
    status: str = Field(max_length=16)
    position: int | None = None
    url: str | None = Field(default=None, max_length=2048)
    depth: int
    provider: str = Field(max_length=16)
    # The first ten organic results: [{position, url, title}].
    top_results: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSONB)
    error: str | None = Field(default=None, max_length=500)


class SerpRankChange(SQLModel, table=True):
    """A keyword whose completed check moved it against its previous completed check (the
    latest snapshot that did not fail, read before the check is recorded), per refresh job:
    what `rank.dropped` notifications and the digest's rank movers are made of. Only
    changes are stored; a failed check is never one (it has no position)."""

    __tablename__ = "serp_rank_changes"
    __table_args__ = (
        # The digest: a project's changes over a day.
        sa.Index("ix_serp_rank_changes_project_id_checked_at", "project_id", "checked_at"),
    )

    job_id: uuid.UUID = Field(primary_key=True)
    keyword_id: uuid.UUID = Field(
        foreign_key="serp_keywords.id", ondelete="CASCADE", primary_key=True
    )
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE")
    checked_at: dt.datetime = Field(sa_type=sa.DateTime(timezone=True))
    # The previous completed check: ranked (position, url) or not in the top `depth`.
    previous_status: str = Field(max_length=16)
    previous_position: int | None = None
    previous_url: str | None = Field(default=None, max_length=2048)
    previous_depth: int
    previous_checked_on: dt.date
    # This check.
    status: str = Field(max_length=16)
    position: int | None = None
    url: str | None = Field(default=None, max_length=2048)
    depth: int


def places_lost(
    *,
    previous_position: int | None,
    previous_depth: int,
    position: int | None,
    depth: int,
) -> int | None:
    """Places a keyword lost between two completed checks (negative: gained), counting only
    what is known. A check that did not find the site within its depth (`position` None)
    stands for position depth + 1, the best it can be:

    - ranked p, then ranked q: q - p;
    - ranked p, then not in the top d: at least d + 1 - p, and that is the figure;
    - not in the top d0, then ranked q <= d0: gained at least d0 + 1 - q;
    - not in the top d0, then ranked below d0 (a deeper check), or not found either time:
      unknown (None), never a drop.
    """
    if previous_position is not None:
        return (position if position is not None else depth + 1) - previous_position
    if position is not None and position <= previous_depth:
        return position - (previous_depth + 1)
    return None


@dataclass(frozen=True, slots=True)
class RankMove:
    """A keyword's move, for messages: its previous and new completed checks."""

    keyword_id: uuid.UUID
    project_id: uuid.UUID
    text: str
    country: str
    language: str
    device: str
    location: str | None
    previous_position: int | None
    previous_url: str | None
    previous_depth: int
    position: int | None
    url: str | None
    depth: int
    checked_at: dt.datetime

    @property
    def places_lost(self) -> int | None:
        return places_lost(
            previous_position=self.previous_position,
            previous_depth=self.previous_depth,
            position=self.position,
            depth=self.depth,
        )

    def facts(self) -> dict[str, Any]:
        """The move as JSON (webhook payloads carry it)."""
        return {
            "keyword_id": str(self.keyword_id),
            "keyword": self.text,
            "country": self.country,
            "language": self.language,
            "device": self.device,
            "location": self.location,
            "previous_position": self.previous_position,
            "previous_url": self.previous_url,
            "previous_depth": self.previous_depth,
            "position": self.position,
            "url": self.url,
            "depth": self.depth,
            "places_lost": self.places_lost,
            # True: not found within `depth` this time (the drop is counted to depth + 1).
            "out_of_depth": self.position is None,
            "checked_at": self.checked_at.isoformat(),
        }


# --- API ------------------------------------------------------------------------------------


class KeywordPublic(SQLModel):
    id: uuid.UUID
    project_id: uuid.UUID
    text: str
    country: str
    language: str
    device: str
    location: str | None
    tags: list[str]
    created_at: dt.datetime
    status: CheckStatus
    # Null unless the latest check found the site.
    position: int | None
    url: str | None
    checked_at: dt.datetime | None
    error: str | None
    # Places gained (positive) or lost since 1, 7 and 30 days before the latest good check
    # (failed days skipped); null when either end was not ranked or not checked.
    change_1d: int | None = None
    change_7d: int | None = None
    change_30d: int | None = None
    best_position: int | None


class KeywordsPublic(PagePublic):
    data: list[KeywordPublic]


class KeywordRejection(SQLModel):
    line: int
    text: str
    reason: str


class KeywordsAddedPublic(SQLModel):
    """What an add did: how many keywords were added, and each line rejected, with why."""

    added: int
    # The first 1,000 rejected lines; rejected_count counts them all.
    rejected: list[KeywordRejection]
    rejected_count: int = 0
    data: list[KeywordPublic] = []


class TopResult(SQLModel):
    position: int
    url: str
    title: str


class SnapshotPublic(SQLModel):
    date: dt.date
    checked_at: dt.datetime
    status: CheckStatus
    position: int | None
    url: str | None
    depth: int
    provider: str
    top_results: list[TopResult]
    error: str | None


class KeywordHistoryPublic(SQLModel):
    keyword: KeywordPublic
    data: list[SnapshotPublic]


class VisibilityDay(SQLModel):
    date: dt.date
    # Keywords with a completed check that day (failed checks are not counted).
    keywords: int
    top3: float
    top10: float
    top100: float


class VisibilityPublic(SQLModel):
    start: dt.date
    end: dt.date
    data: list[VisibilityDay]


class SerpApiConnection(SQLModel):
    provider: Literal["serpapi"]
    api_key: str = Field(min_length=8, max_length=256)


class DataForSeoConnection(SQLModel):
    provider: Literal["dataforseo"]
    login: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=256)
