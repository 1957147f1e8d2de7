"""Beat's scheduled starts through a database outage: a real worker whose database hangs up
on the first connections retries the start instead of skipping the day or the week."""

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.core.db import engine
from app.maintenance import service
from app.maintenance.tasks import cleanup_old_data
from tests.conftest import TEST_DATABASE_URL
from tests.jobs.conftest import wait_for
from tests.workers import celery_worker


class _FlakyDatabaseProxy(socketserver.ThreadingTCPServer):
    """Forwards to PostgreSQL, but hangs up on the first `outage` connections: a database
    that is unreachable when Beat fires, and back a moment later."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, target: tuple[str, int], outage: int) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.target = target
        self.outage = outage
        self.refused = 0
        self.lock = threading.Lock()


class _ProxyHandler(socketserver.BaseRequestHandler):
    server: _FlakyDatabaseProxy

    def handle(self) -> None:
        with self.server.lock:
            refuse = self.server.refused < self.server.outage
            self.server.refused += refuse
        if refuse:
            return  # the connection is closed before PostgreSQL's handshake
        upstream = socket.create_connection(self.server.target, timeout=10)
        pump = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
        pump.start()
        _pump(self.request, upstream)
        pump.join(timeout=10)
        upstream.close()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    with suppress(OSError):
        while data := source.recv(65536):
            sink.sendall(data)
    with suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


@contextmanager
def _flaky_database(outage: int) -> Iterator[tuple[_FlakyDatabaseProxy, str]]:
    url = make_url(TEST_DATABASE_URL)
    proxy = _FlakyDatabaseProxy((url.host or "127.0.0.1", url.port or 5432), outage)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    try:
        proxied = url.set(host="127.0.0.1", port=proxy.server_address[1])
        yield proxy, proxied.render_as_string(hide_password=False)
    finally:
        proxy.shutdown()
        proxy.server_close()


@pytest.mark.slow
def test_a_scheduled_start_retries_through_a_database_outage() -> None:
    with (
        _flaky_database(outage=2) as (proxy, database_url),
        celery_worker(queues="default", concurrency=1, env={"DATABASE_URL": database_url}),
    ):
        cleanup_old_data.delay()  # as Beat sends it
        wait_for(lambda: _cleanup_jobs() == 1, timeout=30, what="the clean-up job, after retries")
    assert proxy.refused == 2


def test_every_scheduled_start_retries_on_a_database_outage() -> None:
    from app.audits.tasks import run_scheduled_audits
    from app.maintenance.tasks import health_check, optimize_db

    for task in (run_scheduled_audits, cleanup_old_data, health_check, optimize_db):
        assert sa.exc.OperationalError in task.autoretry_for, task.name
        assert 0 < task.max_retries <= 20, task.name


def _cleanup_jobs() -> int:
    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM job_runs WHERE stage = :stage"),
                {"stage": service.CLEANUP_STAGE},
            ).scalar_one()
        )
