"""Database engine, sessions and the constraint naming convention."""

import select
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel, create_engine

from app.core.config import settings

# Readable, stable constraint names keep migrations reviewable (docs/architecture.md).
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


# A pooled connection idle for longer than this is pinged before use.
PING_AFTER_IDLE_SECONDS = 30.0


def make_engine(url: str | None = None, *, pool_size: int | None = None) -> Engine:
    engine = create_engine(
        url or settings.DATABASE_URL,
        pool_size=pool_size or settings.DATABASE_POOL_SIZE,
        max_overflow=settings.DATABASE_MAX_OVERFLOW,
        pool_timeout=settings.DATABASE_POOL_TIMEOUT,
        # Errors and logs show the SQL, never the values sent with it (passwords, tokens,
        # people's data): they reach job error messages, tracebacks and logs.
        hide_parameters=True,
    )
    event.listen(engine, "checkin", _note_checkin)

    @event.listens_for(engine, "checkout")
    def _before_use(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        _check_alive(engine.dialect, dbapi_connection, record)

    return engine


def _note_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _check_alive(dialect: sa.Dialect, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    """Pre-ping without a round trip on the hot path. An idle connection has nothing to read:
    if its socket is readable, the server has sent something on its own (most often the
    FATAL of a restart or of an idle-session timeout, then the close), so it gets a real
    ping; so does a connection idle for long, which a silent network drop may have cut.
    A failed ping makes the pool replace the connection (DisconnectionError)."""
    try:
        suspect = needs_ping(dbapi_connection.fileno(), record.info.get("checked_in_at"))
    except (OSError, ValueError, AttributeError) as exc:
        raise sa.exc.DisconnectionError("the connection's socket is gone") from exc
    if not suspect:
        return
    try:
        dialect.do_ping(dbapi_connection)
    except Exception as exc:
        raise sa.exc.DisconnectionError(f"the connection failed its ping: {exc}") from exc


def needs_ping(fileno: int, idle_since: float | None) -> bool:
    """Whether a pooled connection, back in the pool since `idle_since` (monotonic; None
    when fresh from connect), needs a real ping before use: its socket is readable, or it
    sat idle for long. Raises OSError or ValueError when the socket itself is gone. Shared
    by the engine's pool and the job-status pool (app/jobs/status.py)."""
    if idle_since is None:
        return False
    poller = select.poll()  # not select(): it fails on descriptors past 1023
    poller.register(fileno, select.POLLIN)
    if poller.poll(0):
        return True
    return time.monotonic() - idle_since >= PING_AFTER_IDLE_SECONDS


engine = make_engine()


@event.listens_for(Engine, "connect")
def _set_utc(dbapi_connection: object, _record: object) -> None:
    # Every session reads and writes timestamps in UTC, whatever the server's default.
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("SET TIME ZONE 'UTC'")
    cursor.close()
    dbapi_connection.commit()  # type: ignore[attr-defined]


def driver_connection(session: Session, *, autocommit: bool = False) -> psycopg.Connection[Any]:
    """The psycopg connection under the session, for statements sent to the driver as they
    are (COPY, fixed hot-path statements). With `autocommit`, and when the session has no
    transaction open yet, each statement commits by itself (one round trip, not BEGIN,
    statement, COMMIT); inside an open transaction it commits with the rest of it."""
    if autocommit and not session.in_transaction():
        connection = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    else:
        connection = session.connection()
    driver = connection.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    return driver


def libpq_dsn(database_url: str) -> str:
    """A SQLAlchemy URL as a plain libpq connection string, for direct psycopg connections."""
    url = sa.make_url(database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


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
