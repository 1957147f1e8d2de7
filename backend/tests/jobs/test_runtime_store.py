"""The runtime's own database connections (runtime._Store), in this process."""

import signal
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from app.jobs.runtime import _Store


class Interrupted(Exception):
    """Stands for SoftTimeLimitExceeded: raised from a signal handler mid-statement."""


@pytest.fixture
def store() -> Iterator[_Store]:
    store = _Store()
    yield store
    for key in list(store._connections):
        store._discard(key)


def _backend_pid(connection: psycopg.Connection[Any]) -> int:
    return int(connection.execute("SELECT pg_backend_pid()").fetchone()[0])  # type: ignore[index]


def test_a_statement_interrupted_by_a_signal_does_not_poison_the_next_job(store: _Store) -> None:
    def interrupt(*_: Any) -> None:
        raise Interrupted

    def slow(connection: psycopg.Connection[Any]) -> None:
        connection.execute("SELECT pg_sleep(5)")

    first = store.call(_backend_pid)
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.2)
        with pytest.raises(Interrupted):
            store.call(slow)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    # The next transition gets a clean connection at once, not "another command is already in
    # progress" and not a wait for the abandoned statement.
    second = store.call(_backend_pid)
    assert second != first


def test_a_connection_killed_by_the_server_is_replaced_once(store: _Store) -> None:
    doomed = store.call(_backend_pid, durable=True)
    with psycopg.connect(store._dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (doomed,))

    assert store.call(_backend_pid, durable=True) != doomed


def test_a_failed_statement_keeps_the_connection(store: _Store) -> None:
    def bad(connection: psycopg.Connection[Any]) -> None:
        connection.execute("SELECT 1 / 0")

    before = store.call(_backend_pid)
    with pytest.raises(psycopg.errors.DivisionByZero):
        store.call(bad)
    assert store.call(_backend_pid) == before
