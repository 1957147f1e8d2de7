"""Running Alembic from code (the CLI's `migrate`, `up` and the test set-up)."""

from pathlib import Path

from alembic import command
from alembic.config import Config

from app.core.config import settings

ALEMBIC_INI = Path(__file__).resolve().parents[3] / "alembic.ini"


def alembic_config(database_url: str | None = None) -> Config:
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url or settings.DATABASE_URL
    return config


def upgrade_to_head(database_url: str | None = None) -> None:
    command.upgrade(alembic_config(database_url), "head")


def downgrade_to_base(database_url: str | None = None) -> None:
    command.downgrade(alembic_config(database_url), "base")
