"""job priority: interactive, scheduled or bulk (docs/architecture.md, "Priorities and
fairness")

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 01:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Jobs recorded before priorities were all taken in one order: 'interactive' keeps them
    # ahead of anything queued from now on, as it does for rows a tool inserts by hand
    # (kombu's default priority is the highest too). The application always writes it.
    op.add_column(
        "job_runs",
        sa.Column("priority", sa.String(length=16), nullable=False, server_default="interactive"),
    )


def downgrade() -> None:
    op.drop_column("job_runs", "priority")
