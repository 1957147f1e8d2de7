"""audit pages: response timing apart from download, resources apart from pages, robots.txt
for the audit's search engine, sitemap counts, pixel widths, near-duplicate fingerprints and
the markup facts of the newer checks

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 22:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Columns added to a table that may hold rows: NOT NULL ones get a default for those rows,
# dropped afterwards (the application always writes them).
_NOT_NULL: tuple[tuple[str, Any, Any], ...] = (
    ("is_resource", sa.Boolean(), sa.false()),
    ("blocked_for_agent", sa.Boolean(), sa.false()),
    ("sitemap_count", sa.Integer(), sa.text("0")),
    ("facts", postgresql.JSONB(astext_type=sa.Text()), sa.text("'{}'::jsonb")),
)
_NULLABLE: tuple[tuple[str, Any], ...] = (
    ("download_time_ms", sa.Float()),
    ("simhash", sa.BigInteger()),
    ("title_px", sa.Integer()),
    ("description_px", sa.Integer()),
)


def upgrade() -> None:
    for name, kind, default in _NOT_NULL:
        op.add_column("audit_pages", sa.Column(name, kind, nullable=False, server_default=default))
        op.alter_column("audit_pages", name, server_default=None)
    for name, kind in _NULLABLE:
        op.add_column("audit_pages", sa.Column(name, kind, nullable=True))


def downgrade() -> None:
    for name in [column[0] for column in (*_NOT_NULL, *_NULLABLE)]:
        op.drop_column("audit_pages", name)
