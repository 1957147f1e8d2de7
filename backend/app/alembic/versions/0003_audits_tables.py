"""audits tables: audit runs, their pages, links and issues

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 20:51:43.776692
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_runs",
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("render_status", sa.String(length=16), nullable=False),
        sa.Column("render_skipped_reason", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("config_json", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("stats_json", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["job_runs.id"],
            name=op.f("fk_audit_runs_job_id_job_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_audit_runs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_runs")),
        sa.UniqueConstraint("job_id", name=op.f("uq_audit_runs_job_id")),
    )
    op.create_index(
        "ix_audit_runs_project_id_started_at",
        "audit_runs",
        ["project_id", sa.literal_column("started_at DESC")],
        unique=False,
    )
    op.create_table(
        "audit_issues",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("details", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit_runs.id"],
            name=op.f("fk_audit_issues_audit_id_audit_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_issues")),
        sa.UniqueConstraint("audit_id", "code", "url", name="uq_audit_issues_audit_id_code_url"),
    )
    op.create_index(
        "ix_audit_issues_audit_id_url", "audit_issues", ["audit_id", "url"], unique=False
    )
    op.create_table(
        "audit_links",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=False),
        sa.Column("target_url", sa.Text(), nullable=False),
        sa.Column("anchor_text", sa.Text(), nullable=False),
        sa.Column("nofollow", sa.Boolean(), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("rendered_only", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit_runs.id"],
            name=op.f("fk_audit_links_audit_id_audit_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_links")),
    )
    op.create_index(
        "ix_audit_links_audit_id_source_url",
        "audit_links",
        ["audit_id", "source_url"],
        unique=False,
    )
    op.create_index(
        "ix_audit_links_audit_id_target_url",
        "audit_links",
        ["audit_id", "target_url"],
        unique=False,
    )
    op.create_table(
        "audit_pages",
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("final_status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=64), nullable=True),
        sa.Column("error_detail", sa.Text(), nullable=True),
        sa.Column("response_time_ms", sa.Float(), nullable=True),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("is_html", sa.Boolean(), nullable=False),
        sa.Column("indexable", sa.Boolean(), nullable=False),
        sa.Column("noindex", sa.Boolean(), nullable=False),
        sa.Column("nofollow", sa.Boolean(), nullable=False),
        sa.Column("blocked_by_robots", sa.Boolean(), nullable=False),
        sa.Column("in_sitemap", sa.Boolean(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("meta_description", sa.Text(), nullable=True),
        sa.Column("canonical_url", sa.Text(), nullable=True),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("body_hash", sa.String(length=128), nullable=True),
        sa.Column("lang", sa.String(length=64), nullable=True),
        sa.Column("viewport", sa.Text(), nullable=True),
        sa.Column("meta_refresh", sa.Text(), nullable=True),
        sa.Column("canonical_header", sa.Text(), nullable=True),
        sa.Column("internal_link_count", sa.Integer(), nullable=False),
        sa.Column("external_link_count", sa.Integer(), nullable=False),
        sa.Column("script_count", sa.Integer(), nullable=False),
        sa.Column("empty_app_root", sa.Boolean(), nullable=False),
        sa.Column("noscript_hint", sa.Boolean(), nullable=False),
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("audit_id", sa.Uuid(), nullable=False),
        sa.Column("redirect_chain", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("titles", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("meta_descriptions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("meta_robots", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("x_robots_tag", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("canonicals", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("h1", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("h2", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("heading_levels", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("hreflang", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("images", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("structured_data_types", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("insecure_resources", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("insecure_form_actions", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("rendered", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("crawled_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"],
            ["audit_runs.id"],
            name=op.f("fk_audit_pages_audit_id_audit_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_pages")),
        sa.UniqueConstraint("audit_id", "url", name="uq_audit_pages_audit_id_url"),
    )
    op.create_index(
        "ix_audit_pages_audit_id_status_code",
        "audit_pages",
        ["audit_id", "status_code"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_audit_pages_audit_id_status_code", table_name="audit_pages")
    op.drop_table("audit_pages")
    op.drop_index("ix_audit_links_audit_id_target_url", table_name="audit_links")
    op.drop_index("ix_audit_links_audit_id_source_url", table_name="audit_links")
    op.drop_table("audit_links")
    op.drop_index("ix_audit_issues_audit_id_url", table_name="audit_issues")
    op.drop_table("audit_issues")
    op.drop_index("ix_audit_runs_project_id_started_at", table_name="audit_runs")
    op.drop_table("audit_runs")
