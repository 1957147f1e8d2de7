"""The job run: one row per job, the source of truth for its state (docs/architecture.md,
"The job seam"). Celery messages only carry the job id; the row says what happens."""

import uuid
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import AfterValidator, GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from app.core.db import utcnow
from app.core.domains import JobTypeSpec, declared_domains, job_types
from app.core.pagination import PagePublic


@cache
def declared_job_types() -> dict[str, JobTypeSpec]:
    """The job types the domains declare (each in its domain.py), in declaration order."""
    return job_types(declared_domains())


class _JobTypeSchema:
    """A job type is a name its domain declares, stored as text. In the OpenAPI document it
    is the `JobType` schema, listing the declared names (read when the document is made)."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.str_schema(ref="JobType")

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        named = handler.resolve_ref_schema(json_schema)
        named.update(title="JobType", enum=list(declared_job_types()))
        return json_schema


def _declared(job_type: str) -> str:
    if job_type not in declared_job_types():
        raise ValueError(f"unknown job type {job_type!r}")
    return job_type


JobType = Annotated[str, _JobTypeSchema]
# For input (filters): one of the declared job types, else 422.
DeclaredJobType = Annotated[JobType, AfterValidator(_declared)]


class JobStatus(StrEnum):
    queued = "queued"
    running = "running"
    retrying = "retrying"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class JobPriority(StrEnum):
    """Who waits for the job (docs/architecture.md, "Priorities and fairness"): a person
    (`interactive`, started through the API), Beat's fan-outs (`scheduled`), or nobody in
    particular (`bulk`: backfills, imports, clean-up). Interactive jobs are taken first."""

    interactive = "interactive"
    scheduled = "scheduled"
    bulk = "bulk"


ACTIVE_STATUSES = (JobStatus.queued, JobStatus.running, JobStatus.retrying)
TERMINAL_STATUSES = (JobStatus.completed, JobStatus.failed, JobStatus.cancelled)

# The SQL form of "is active", shared by the partial indexes below and their migration.
ACTIVE_STATUS_SQL = "status IN ('queued', 'running', 'retrying')"


def _timestamp(*, nullable: bool = True) -> Any:
    return Field(default=None, sa_type=sa.DateTime(timezone=True), nullable=nullable)


class JobRun(SQLModel, table=True):
    __tablename__ = "job_runs"
    __table_args__ = (
        # A project's jobs, newest first (dashboard lists, GET /jobs/project/{id}).
        sa.Index("ix_job_runs_project_id_queued_at", "project_id", sa.text("queued_at DESC")),
        # Everyone's jobs newest first (superuser list, retention clean-up by age).
        sa.Index("ix_job_runs_queued_at", sa.text("queued_at DESC")),
        # Active jobs: the rescue sweep, queue views and stats scan only these.
        sa.Index(
            "ix_job_runs_active_status",
            "status",
            "queued_at",
            postgresql_where=sa.text(ACTIVE_STATUS_SQL),
        ),
        # At most one active job per (type, target): the database enforces it.
        sa.Index(
            "uq_job_runs_active_dedupe_key",
            "dedupe_key",
            unique=True,
            postgresql_where=sa.text(ACTIVE_STATUS_SQL),
        ),
    )

    # The id is also the Celery task id of every message published for the job.
    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    job_type: JobType = Field(sa_type=sa.String(32))
    project_id: uuid.UUID | None = Field(
        default=None, foreign_key="projects.id", ondelete="CASCADE"
    )
    user_id: uuid.UUID | None = Field(
        default=None, foreign_key="users.id", ondelete="SET NULL", index=True
    )
    status: JobStatus = Field(default=JobStatus.queued, sa_type=sa.String(16))
    stage: str = Field(max_length=64)
    queue: str = Field(default="default", max_length=64)
    priority: JobPriority = Field(
        default=JobPriority.interactive,
        sa_type=sa.String(16),
        sa_column_kwargs={"server_default": JobPriority.interactive.value},
    )

    progress_pct: float = 0.0
    progress_message: str | None = Field(default=None, max_length=500)
    progress_current: int | None = Field(default=None, sa_type=sa.BigInteger)
    progress_total: int | None = Field(default=None, sa_type=sa.BigInteger)

    attempts: int = 0
    max_attempts: int = 1

    queued_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    started_at: datetime | None = _timestamp()
    finished_at: datetime | None = _timestamp()
    heartbeat_at: datetime | None = _timestamp()
    lease_expires_at: datetime | None = _timestamp()
    cancel_requested_at: datetime | None = _timestamp()
    next_retry_at: datetime | None = _timestamp()
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))

    config_json: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    result_json: dict[str, Any] | None = Field(default=None, sa_type=JSONB)
    error_category: str | None = Field(default=None, max_length=64)
    error_message: str | None = Field(default=None, max_length=2000)
    # For operators only: never part of JobPublic.
    error_traceback: str | None = Field(default=None, sa_type=sa.Text)

    dedupe_key: str | None = Field(default=None, max_length=255)
    retry_of: uuid.UUID | None = Field(default=None, foreign_key="job_runs.id", ondelete="SET NULL")


class JobEventKind(StrEnum):
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class JobEvent(SQLModel, table=True):
    """The job seam's outbox (docs/architecture.md, "The job seam"): one row per terminal
    transition, written by the very statement that makes the transition (a data-modifying
    CTE in transitions.py, rescue.py and service.py), so it commits with it or not at all.
    A job ends once, so (job_id, event) is the key: a transition processed twice writes one
    row. Consumers (notifications) claim unprocessed rows with SKIP LOCKED and set
    `processed_at` in the transaction that records what they made of them."""

    __tablename__ = "job_events"
    __table_args__ = (
        # What the consumer has not handled yet, oldest first: stays tiny.
        sa.Index(
            "ix_job_events_pending",
            "occurred_at",
            postgresql_where=sa.text("processed_at IS NULL"),
        ),
        # Failures per project and type over time ("a sync failing two days in a row").
        sa.Index(
            "ix_job_events_failures",
            "project_id",
            "job_type",
            "occurred_at",
            postgresql_where=sa.text("event = 'failed'"),
        ),
    )

    job_id: uuid.UUID = Field(primary_key=True)
    event: JobEventKind = Field(primary_key=True, sa_type=sa.String(16))
    attempt: int
    job_type: str = Field(max_length=32)
    project_id: uuid.UUID | None = None
    occurred_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    processed_at: datetime | None = _timestamp()


class JobPublic(SQLModel):
    id: uuid.UUID
    job_type: JobType
    project_id: uuid.UUID | None
    user_id: uuid.UUID | None
    status: JobStatus
    stage: str
    queue: str
    priority: JobPriority
    progress_pct: float
    progress_message: str | None
    progress_current: int | None
    progress_total: int | None
    attempts: int
    max_attempts: int
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime | None
    lease_expires_at: datetime | None
    cancel_requested_at: datetime | None
    next_retry_at: datetime | None
    updated_at: datetime
    config_json: dict[str, Any]
    result_json: dict[str, Any] | None
    error_category: str | None
    error_message: str | None
    dedupe_key: str | None
    retry_of: uuid.UUID | None


class JobsPublic(PagePublic):
    data: list[JobPublic]


# --- Rollups (app.jobs.rollups): kept by triggers on job_runs, never written by the app ----


def _count() -> Any:
    return Field(sa_type=sa.BigInteger)


def _histogram() -> Any:
    return Field(sa_type=ARRAY(sa.BigInteger))


class JobCountsRollup(SQLModel, table=True):
    """Jobs per hour or day of `queued_at`, scope and type, by their current status."""

    __tablename__ = "job_counts_rollup"

    scope: str = Field(primary_key=True, max_length=8)  # 'project', 'owner' or 'all'
    scope_id: uuid.UUID = Field(primary_key=True)  # project, owner, or rollups.NO_PROJECT
    grain: str = Field(primary_key=True, max_length=4)  # 'hour' or 'day'
    bucket_start: datetime = Field(primary_key=True, sa_type=sa.DateTime(timezone=True))
    job_type: str = Field(primary_key=True, max_length=32)
    queued: int = _count()
    running: int = _count()
    retrying: int = _count()
    completed: int = _count()
    failed: int = _count()
    cancelled: int = _count()


class JobFinishesRollup(SQLModel, table=True):
    """Started jobs per hour or day of `finished_at` and scope: outcomes and histograms of
    run time (completed jobs) and pickup latency (all), in rollups.HISTOGRAM_BUCKETS."""

    __tablename__ = "job_finishes_rollup"

    scope: str = Field(primary_key=True, max_length=8)
    scope_id: uuid.UUID = Field(primary_key=True)
    grain: str = Field(primary_key=True, max_length=4)
    bucket_start: datetime = Field(primary_key=True, sa_type=sa.DateTime(timezone=True))
    completed: int = _count()
    failed: int = _count()
    run_seconds: list[int] = _histogram()
    pickup_seconds: list[int] = _histogram()


class JobCounters(SQLModel, table=True):
    """Per job type, only ever incremented: the counters and Prometheus histograms
    (cumulative, rollups.DURATION_BUCKETS / PICKUP_BUCKETS) of /metrics."""

    __tablename__ = "job_counters"

    job_type: str = Field(primary_key=True, max_length=32)
    started: int = _count()
    completed: int = _count()
    failed: int = _count()
    cancelled: int = _count()
    extra_runs: int = _count()
    run_count: int = _count()
    run_seconds_sum: float
    run_seconds_le: list[int] = _histogram()
    pickup_count: int = _count()
    pickup_seconds_sum: float
    pickup_seconds_le: list[int] = _histogram()


class JobRollupDelta(SQLModel, table=True):
    """What one write changed in the rollups, appended by the triggers on job_runs and
    folded into the rollups (then deleted) by job_rollups_fold() (app.jobs.rollups.fold)."""

    __tablename__ = "job_rollup_deltas"

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, sa.Identity(), primary_key=True),
    )
    sign: int = Field(sa_type=sa.SmallInteger)
    is_start: bool
    is_finish: bool
    owner_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    job_type: str = Field(max_length=32)
    status: str = Field(max_length=16)
    queued_at: datetime = Field(sa_type=sa.DateTime(timezone=True))
    started_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))
    attempts: int
