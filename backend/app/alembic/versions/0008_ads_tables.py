"""ads tables: Google Ads accounts, campaigns and campaign metrics per day

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 23:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _project_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["project_id"],
        ["projects.id"],
        name=op.f(f"fk_{table}_project_id_projects"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "ads_accounts",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.String(length=10), nullable=False),
        sa.Column("currency_code", sa.String(length=3), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("backfilled_at", sa.DateTime(timezone=True), nullable=True),
        _project_fk("ads_accounts"),
        sa.PrimaryKeyConstraint("project_id", "customer_id", name=op.f("pk_ads_accounts")),
    )
    op.create_table(
        "ads_campaigns",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.String(length=10), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=1024), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _project_fk("ads_campaigns"),
        sa.PrimaryKeyConstraint(
            "project_id", "customer_id", "campaign_id", name=op.f("pk_ads_campaigns")
        ),
    )
    op.create_table(
        "ads_campaign_days",
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.String(length=10), nullable=False),
        sa.Column("campaign_id", sa.BigInteger(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("impressions", sa.BigInteger(), nullable=False),
        sa.Column("clicks", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("conversions", sa.Double(), nullable=False),
        sa.Column("conversions_value", sa.Double(), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        _project_fk("ads_campaign_days"),
        sa.PrimaryKeyConstraint(
            "project_id", "customer_id", "campaign_id", "date", name=op.f("pk_ads_campaign_days")
        ),
    )
    op.create_index(
        "ix_ads_campaign_days_account_date",
        "ads_campaign_days",
        ["project_id", "customer_id", "date"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_ads_campaign_days_account_date", table_name="ads_campaign_days")
    op.drop_table("ads_campaign_days")
    op.drop_table("ads_campaigns")
    op.drop_table("ads_accounts")
