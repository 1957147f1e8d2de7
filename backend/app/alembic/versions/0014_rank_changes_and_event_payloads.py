"""rank changes per refresh job (rank.dropped, the digest's rank movers); notification
events stored once (notification_events), their deliveries referencing them instead of
carrying a copy of the payload each; a project's email index covers emails only

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "serp_rank_changes",
        sa.Column("job_id", sa.Uuid(), nullable=False),
        sa.Column("keyword_id", sa.Uuid(), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previous_status", sa.String(length=16), nullable=False),
        sa.Column("previous_position", sa.Integer(), nullable=True),
        sa.Column("previous_url", sa.String(length=2048), nullable=True),
        sa.Column("previous_depth", sa.Integer(), nullable=False),
        sa.Column("previous_checked_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=2048), nullable=True),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["keyword_id"],
            ["serp_keywords.id"],
            name=op.f("fk_serp_rank_changes_keyword_id_serp_keywords"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_serp_rank_changes_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("job_id", "keyword_id", name=op.f("pk_serp_rank_changes")),
    )
    op.create_index(
        "ix_serp_rank_changes_project_id_checked_at",
        "serp_rank_changes",
        ["project_id", "checked_at"],
        unique=False,
    )

    op.create_table(
        "notification_events",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=32), nullable=False),
        sa.Column("project_id", sa.Uuid(), nullable=True),
        sa.Column("job_id", sa.Uuid(), nullable=True),
        sa.Column("payload_json", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_notification_events_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_events")),
    )
    op.execute(
        """
        INSERT INTO notification_events (id, event_type, project_id, job_id, payload_json,
                                         created_at)
        SELECT DISTINCT ON (event_id) event_id, event_type, project_id, job_id, payload_json,
               created_at
        FROM notification_deliveries
        ORDER BY event_id, created_at
        """
    )
    op.drop_column("notification_deliveries", "payload_json")
    op.create_foreign_key(
        op.f("fk_notification_deliveries_event_id_notification_events"),
        "notification_deliveries",
        "notification_events",
        ["event_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.drop_index(
        "ix_notification_deliveries_project_id_created_at", table_name="notification_deliveries"
    )
    op.create_index(
        "ix_notification_deliveries_project_id_created_at",
        "notification_deliveries",
        ["project_id", sa.literal_column("created_at DESC")],
        unique=False,
        postgresql_where=sa.text("channel = 'email'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_notification_deliveries_project_id_created_at", table_name="notification_deliveries"
    )
    op.create_index(
        "ix_notification_deliveries_project_id_created_at",
        "notification_deliveries",
        ["project_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.drop_constraint(
        op.f("fk_notification_deliveries_event_id_notification_events"),
        "notification_deliveries",
        type_="foreignkey",
    )
    op.add_column(
        "notification_deliveries",
        sa.Column(
            "payload_json",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.execute(
        "UPDATE notification_deliveries AS d SET payload_json = e.payload_json "
        "FROM notification_events AS e WHERE e.id = d.event_id"
    )
    op.alter_column("notification_deliveries", "payload_json", server_default=None)
    op.drop_table("notification_events")
    op.drop_index("ix_serp_rank_changes_project_id_checked_at", table_name="serp_rank_changes")
    op.drop_table("serp_rank_changes")
