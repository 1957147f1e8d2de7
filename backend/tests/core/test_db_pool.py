"""The engine's pool: a dead pooled connection is replaced before use, and a connection used
moments ago costs no ping round trip."""

import os
import resource
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from app.core import db
from app.core.config import settings


@pytest.fixture
def engine() -> Iterator[Engine]:
    engine = db.make_engine(settings.DATABASE_URL, pool_size=1)
    yield engine
    engine.dispose()


@pytest.fixture
def pings(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the real pings (the dialect's own, still run)."""
    counted: list[int] = []
    real_ping = engine.dialect.do_ping

    def counting_ping(dbapi_connection: Any) -> bool:
        counted.append(1)
        return real_ping(dbapi_connection)

    monkeypatch.setattr(engine.dialect, "do_ping", counting_ping)
    return counted


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_the_server_closed_is_replaced_before_use(
    engine: Engine, pings: list[int]
) -> None:
    doomed = _backend_pid(engine)
    with psycopg.connect(db.libpq_dsn(settings.DATABASE_URL), autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (doomed,))
        deadline = time.monotonic() + 5
        while admin.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (doomed,)
        ).fetchone() != (0,):
            assert time.monotonic() < deadline
            time.sleep(0.02)

    assert _backend_pid(engine) != doomed  # no error reached the caller
    assert len(pings) == 1  # the readable socket asked for the real ping


def test_a_connection_used_moments_ago_is_not_pinged(engine: Engine, pings: list[int]) -> None:
    first = _backend_pid(engine)
    for _ in range(20):
        assert _backend_pid(engine) == first
    assert pings == []


def test_a_connection_idle_for_long_is_pinged(engine: Engine, pings: list[int]) -> None:
    _backend_pid(engine)
    with engine.connect() as connection:
        record = connection.connection._connection_record
        assert record is not None
    # As if it had waited in the pool for longer than the idle limit.
    record.info["checked_in_at"] -= db.PING_AFTER_IDLE_SECONDS + 1
    _backend_pid(engine)
    assert len(pings) == 1


def test_a_connection_on_a_high_descriptor_is_checked_without_a_ping(
    engine: Engine, pings: list[int]
) -> None:
    """A busy API process holds many sockets: a pooled connection's descriptor may be past
    1023, where select() cannot look (poll() can)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip("cannot open descriptors past 1023 here")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    fillers = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        first = _backend_pid(engine)
        with engine.connect() as connection:
            descriptor = connection.connection.dbapi_connection.fileno()  # type: ignore[union-attr]
        assert descriptor > 1023
        assert _backend_pid(engine) == first
        assert pings == []
    finally:
        for filler in fillers:
            os.close(filler)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
