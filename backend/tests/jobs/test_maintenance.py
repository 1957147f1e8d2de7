"""Maintenance jobs (retention clean-up, health check) run by a real worker."""

import socket
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import Session, select

from app.core.config import settings
from app.core.db import engine, session_scope, utcnow
from app.jobs.models import JobRun, JobStatus, JobType
from app.maintenance import service
from app.maintenance.tasks import cleanup_old_data
from tests.conftest import TEST_DATABASE_URL
from tests.jobs.conftest import wait_for, wait_terminal
from tests.workers import WorkerProcess, celery_worker


def _finished_job(status: JobStatus, days_ago: float) -> JobRun:
    finished_at = utcnow() - timedelta(days=days_ago)
    with session_scope() as session:
        job = JobRun(
            job_type=JobType.maintenance,
            stage="test_noop",
            status=status,
            queued_at=finished_at,
            finished_at=finished_at,
        )
        session.add(job)
        session.commit()
        return job


def test_cleanup_deletes_what_is_past_retention_and_keeps_the_rest(
    worker: WorkerProcess,
) -> None:
    keep_days, failed_days = settings.JOB_RETENTION_DAYS, settings.FAILED_JOB_RETENTION_DAYS
    expired = [
        _finished_job(JobStatus.completed, keep_days + 1),
        _finished_job(JobStatus.cancelled, keep_days + 1),
        _finished_job(JobStatus.failed, failed_days + 1),
    ]
    kept = [
        _finished_job(JobStatus.completed, keep_days - 1),
        _finished_job(JobStatus.failed, keep_days + 1),  # failures are kept longer
    ]

    with session_scope() as session:
        job, created = service.start_cleanup_job(session=session, user=None)
    done = wait_terminal(job.id, timeout=20)

    assert created
    assert done.status == JobStatus.completed, done.error_message
    assert done.result_json is not None
    assert done.result_json["deleted"]["job_runs"] == 3
    with Session(engine) as session:
        remaining = {row.id for row in session.exec(select(JobRun))}
    assert not remaining & {job.id for job in expired}
    assert {job.id for job in kept} <= remaining


def test_cleanup_deletes_in_batches_reporting_progress() -> None:
    for _ in range(7):
        _finished_job(JobStatus.completed, settings.JOB_RETENTION_DAYS + 2)
    reports: list[tuple[int, int, str]] = []

    with session_scope() as session:
        deleted = service.cleanup_old_data(
            session=session, batch=3, on_progress=lambda *report: reports.append(report)
        )

    assert deleted["job_runs"] == 7
    assert [message for *_, message in reports][:3] == [
        "job_runs: 3 deleted",
        "job_runs: 6 deleted",
        "job_runs: 7 deleted",
    ]


def test_scheduled_cleanup_runs_once_a_day_however_often_beat_fires() -> None:
    first = cleanup_old_data()
    second = cleanup_old_data()

    assert first == second
    with engine.connect() as connection:
        keys = connection.execute(sa.text("SELECT dedupe_key FROM job_runs")).scalars().all()
    assert keys == [f"maintenance:cleanup:{utcnow().date().isoformat()}"]


def test_health_check_job_reports_database_and_redis(worker: WorkerProcess) -> None:
    with session_scope() as session:
        job, _ = service.start_health_check_job(session=session, user=None)

    done = wait_terminal(job.id, timeout=20)

    assert done.status == JobStatus.completed, done.error_message
    assert done.result_json is not None
    assert done.result_json["ok"] is True
    assert done.result_json["database"] == {"ok": True, "detail": "ok"}
    assert done.result_json["redis"] == {"ok": True, "detail": "ok"}


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
    from app.maintenance.tasks import health_check

    for task in (run_scheduled_audits, cleanup_old_data, health_check):
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
