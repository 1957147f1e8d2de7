"""a synced Search Console day remembers its pages (rows and a digest of each), so a sync
that receives the same page again skips writing it (app/gsc/storage.py)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 04:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("gsc_days", sa.Column("page_rows", postgresql.ARRAY(sa.Integer()), nullable=True))
    op.add_column(
        "gsc_days", sa.Column("page_digests", postgresql.ARRAY(sa.LargeBinary()), nullable=True)
    )


def downgrade() -> None:
    op.drop_column("gsc_days", "page_digests")
    op.drop_column("gsc_days", "page_rows")
