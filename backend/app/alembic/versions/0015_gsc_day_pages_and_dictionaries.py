"""gsc: a synced day remembers its pages (rows and a digest of each), so a sync that
receives the same page again skips writing it (app/gsc/storage.py); the query and page
dictionaries lose their foreign key to gsc_sites (a bulk load added thousands of entries a
page, each checked and locking its property's row): like gsc_rows, the entries of a deleted
property are removed by the clean-up (gsc.service.purge_orphan_rows)

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
    op.drop_constraint("fk_gsc_queries_site_id_gsc_sites", "gsc_queries", type_="foreignkey")
    op.drop_constraint("fk_gsc_pages_site_id_gsc_sites", "gsc_pages", type_="foreignkey")


def downgrade() -> None:
    # Entries of deleted properties not yet cleaned up would fail the constraints.
    op.execute("DELETE FROM gsc_queries WHERE site_id NOT IN (SELECT id FROM gsc_sites)")
    op.execute("DELETE FROM gsc_pages WHERE site_id NOT IN (SELECT id FROM gsc_sites)")
    op.create_foreign_key(
        "fk_gsc_pages_site_id_gsc_sites",
        "gsc_pages",
        "gsc_sites",
        ["site_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_foreign_key(
        "fk_gsc_queries_site_id_gsc_sites",
        "gsc_queries",
        "gsc_sites",
        ["site_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.drop_column("gsc_days", "page_digests")
    op.drop_column("gsc_days", "page_rows")
