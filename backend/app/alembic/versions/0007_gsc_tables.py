"""gsc tables: properties, synced days, property totals, query/page dictionaries, rows

gsc_rows has no foreign keys on purpose (a bulk load would check each row); see
app/gsc/models.py.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gsc_sites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("property", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_gsc_sites_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gsc_sites")),
        sa.UniqueConstraint("project_id", "property", name=op.f("uq_gsc_sites_project_id")),
    )
    op.create_table(
        "gsc_days",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("search_type", sa.SmallInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["gsc_sites.id"],
            name=op.f("fk_gsc_days_site_id_gsc_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("site_id", "search_type", "date", name=op.f("pk_gsc_days")),
    )
    op.create_table(
        "gsc_pages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("page", sa.Text(collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["gsc_sites.id"],
            name=op.f("fk_gsc_pages_site_id_gsc_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gsc_pages")),
        sa.UniqueConstraint("site_id", "page", name=op.f("uq_gsc_pages_site_id")),
    )
    op.create_table(
        "gsc_queries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("query", sa.Text(collation="C"), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["gsc_sites.id"],
            name=op.f("fk_gsc_queries_site_id_gsc_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gsc_queries")),
        sa.UniqueConstraint("site_id", "query", name=op.f("uq_gsc_queries_site_id")),
    )
    op.create_table(
        "gsc_totals",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("search_type", sa.SmallInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("country", sa.String(length=8, collation="C"), nullable=False),
        sa.Column("device", sa.String(length=8, collation="C"), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"],
            ["gsc_sites.id"],
            name=op.f("fk_gsc_totals_site_id_gsc_sites"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "site_id", "search_type", "date", "country", "device", name=op.f("pk_gsc_totals")
        ),
    )
    op.create_table(
        "gsc_rows",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("search_type", sa.SmallInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("country", sa.String(length=8, collation="C"), nullable=False),
        sa.Column("device", sa.String(length=8, collation="C"), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "site_id",
            "search_type",
            "date",
            "query_id",
            "page_id",
            "country",
            "device",
            name=op.f("pk_gsc_rows"),
        ),
    )

    op.create_table(
        "gsc_query_days",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("search_type", sa.SmallInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("query_id", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "site_id", "search_type", "date", "query_id", name=op.f("pk_gsc_query_days")
        ),
    )
    op.create_table(
        "gsc_page_days",
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("search_type", sa.SmallInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("page_id", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("impressions", sa.Integer(), nullable=False),
        sa.Column("position", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            "site_id", "search_type", "date", "page_id", name=op.f("pk_gsc_page_days")
        ),
    )


def downgrade() -> None:
    op.drop_table("gsc_page_days")
    op.drop_table("gsc_query_days")
    op.drop_table("gsc_totals")
    op.drop_table("gsc_queries")
    op.drop_table("gsc_pages")
    op.drop_table("gsc_days")
    op.drop_table("gsc_sites")
    op.drop_table("gsc_rows")
