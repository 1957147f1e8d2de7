"""rank tracking: keywords and their daily snapshots

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 22:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "serp_keywords",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("device", sa.String(length=8), nullable=False),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=50)), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.Column("best_position", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_serp_keywords_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serp_keywords")),
    )
    # One keyword per (text in any case, country, language, device, location).
    op.create_index(
        "uq_serp_keywords_identity",
        "serp_keywords",
        [
            "project_id",
            sa.text("lower(text)"),
            "country",
            "language",
            "device",
            sa.text("coalesce(location, '')"),
        ],
        unique=True,
    )
    op.create_index(
        "ix_serp_keywords_project_id_checked_at",
        "serp_keywords",
        ["project_id", "checked_at"],
        unique=False,
    )
    op.create_table(
        "serp_snapshots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("keyword_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("checked_on", sa.Date(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("top_results", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["keyword_id"],
            ["serp_keywords.id"],
            name=op.f("fk_serp_snapshots_keyword_id_serp_keywords"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_serp_snapshots_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_serp_snapshots")),
        sa.UniqueConstraint("keyword_id", "checked_on", name=op.f("uq_serp_snapshots_keyword_id")),
    )
    op.create_index(
        op.f("ix_serp_snapshots_checked_on"), "serp_snapshots", ["checked_on"], unique=False
    )
    op.create_index(
        "ix_serp_snapshots_project_id_checked_on",
        "serp_snapshots",
        ["project_id", "checked_on"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_serp_snapshots_project_id_checked_on", table_name="serp_snapshots")
    op.drop_index(op.f("ix_serp_snapshots_checked_on"), table_name="serp_snapshots")
    op.drop_table("serp_snapshots")
    op.drop_index("ix_serp_keywords_project_id_checked_at", table_name="serp_keywords")
    op.drop_index("uq_serp_keywords_identity", table_name="serp_keywords")
    op.drop_table("serp_keywords")
