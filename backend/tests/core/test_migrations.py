"""The migrations and the models describe the same schema, and both directions run."""

import os

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine
from sqlmodel import SQLModel

from app.core.migrations import downgrade_to_base, upgrade_to_head
from app.core.model_registry import import_all_models
from tests.database import recreate_database

SCRATCH_URL = os.environ.get(
    "TEST_SCRATCH_DATABASE_URL",
    os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    + "/"
    + os.environ["DATABASE_URL"].rsplit("/", 1)[1]
    + "_scratch",
)


@pytest.fixture
def empty_database() -> str:
    recreate_database(SCRATCH_URL)
    return SCRATCH_URL


def test_upgrade_head_matches_models_and_downgrade_works(empty_database: str) -> None:
    import_all_models()
    upgrade_to_head(empty_database)
    engine = create_engine(empty_database)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            differences = compare_metadata(context, SQLModel.metadata)
        assert differences == [], differences
        downgrade_to_base(empty_database)
        with engine.connect() as connection:
            remaining = (
                connection.exec_driver_sql(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                )
                .scalars()
                .all()
            )
        assert set(remaining) <= {"alembic_version"}
        upgrade_to_head(empty_database)  # and back up again
    finally:
        engine.dispose()
