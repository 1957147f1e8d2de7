"""backlinks: imports with their reports, merged backlinks, Search Console summary rows

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "link_imports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("encoding", sa.String(length=32), nullable=False),
        sa.Column("delimiter", sa.String(length=1), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("new", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("rejections", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["job_runs.id"],
            name=op.f("fk_link_imports_job_id_job_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_link_imports_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_link_imports_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_imports")),
    )
    op.create_index(op.f("ix_link_imports_job_id"), "link_imports", ["job_id"], unique=False)
    op.create_index(
        op.f("ix_link_imports_project_id"), "link_imports", ["project_id"], unique=False
    )

    op.create_table(
        "backlinks",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("link_key", sa.Uuid(), nullable=False),
        sa.Column("source_url", sa.String(length=2048), nullable=False),
        sa.Column("target_url", sa.String(length=2048), nullable=False),
        sa.Column("referring_domain", sa.String(length=255), nullable=False),
        sa.Column("anchor", sa.String(length=1000), nullable=True),
        sa.Column("source_title", sa.String(length=1000), nullable=True),
        sa.Column("first_seen", sa.Date(), nullable=True),
        sa.Column("last_seen", sa.Date(), nullable=True),
        sa.Column("lost", sa.Boolean(), nullable=False),
        sa.Column("lost_on", sa.Date(), nullable=True),
        sa.Column("nofollow", sa.Boolean(), nullable=False),
        sa.Column("ugc", sa.Boolean(), nullable=False),
        sa.Column("sponsored", sa.Boolean(), nullable=False),
        sa.Column("authority", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("project_id", "link_key", name=op.f("pk_backlinks")),
    )

    op.create_table(
        "link_summary_rows",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("import_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("item", sa.String(length=2048), nullable=False),
        sa.Column("first_count", sa.BigInteger(), nullable=False),
        sa.Column("second_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["link_imports.id"],
            name=op.f("fk_link_summary_rows_import_id_link_imports"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_link_summary_rows_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_summary_rows")),
        sa.UniqueConstraint(
            "project_id", "kind", "item", name=op.f("uq_link_summary_rows_project_id")
        ),
    )
    op.create_index(
        op.f("ix_link_summary_rows_import_id"), "link_summary_rows", ["import_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_link_summary_rows_import_id"), table_name="link_summary_rows")
    op.drop_table("link_summary_rows")
    op.drop_table("backlinks")
    op.drop_index(op.f("ix_link_imports_project_id"), table_name="link_imports")
    op.drop_index(op.f("ix_link_imports_job_id"), table_name="link_imports")
    op.drop_table("link_imports")
