"""Database engine, sessions and the constraint naming convention."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from app.core.config import settings

# Readable, stable constraint names keep migrations reviewable (STYLE.md, rule 9).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str | None = None, *, pool_size: int | None = None) -> Engine:
    return create_engine(
        url or settings.DATABASE_URL,
        pool_pre_ping=True,
        pool_size=pool_size or settings.DATABASE_POOL_SIZE,
        max_overflow=settings.DATABASE_MAX_OVERFLOW,
        pool_timeout=settings.DATABASE_POOL_TIMEOUT,
    )


engine = make_engine()


@event.listens_for(Engine, "connect")
def _set_utc(dbapi_connection: object, _record: object) -> None:
    # Every session reads and writes timestamps in UTC, whatever the server's default.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.commit()  # type: ignore[attr-defined]


def request_slots() -> int:
    """How many requests may hold a pooled connection at once in one API process; one
    connection stays free for what runs outside a request's session (readiness checks)."""
    return max(1, settings.DATABASE_POOL_SIZE + settings.DATABASE_MAX_OVERFLOW - 1)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session for code outside a request (tasks, CLI); commits are explicit."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def ping_database() -> None:
    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
