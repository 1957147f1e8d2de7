"""Redis restarts under running jobs: the workers (the CLI's, as `up` and compose run them)
reconnect instead of dying, the running job finishes once, a job queued while Redis was down
is published again by the sweep, and new jobs run after the restart.

The broker is a private Redis this test stops and starts; job rows live in the test database.
"""

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.celery_app import celery_app
from app.jobs.models import JobStatus
from app.jobs.rescue import sweep_stalled_jobs
from tests.core.processes import Running, cli, start, stop
from tests.core.servers import PrivateRedis, private_redis
from tests.jobs.conftest import executions, load, wait_for, wait_terminal
from tests.jobs.conftest import start as start_job
from tests.workers import WORKER_ENV

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Points this process's Celery app (publishing, control) at `url` for the test."""
    conf = celery_app.conf

    def point_at(broker: str, backend: str) -> None:
        # Celery reads these two variables before its own settings.
        os.environ["CELERY_BROKER_URL"], os.environ["CELERY_RESULT_BACKEND"] = broker, backend
        conf.broker_url, conf.result_backend = broker, backend
        # Dropped, not closed: kombu keeps one pool per broker URL in a registry of its own,
        # so a closed pool would come back for the test broker's URL to every later test.
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        # The result backend is cached per thread once used (send_task uses it): dropped too,
        # or later tests would publish through a backend bound to the stopped test broker.
        vars(celery_app._local).pop("backend", None)

    saved = (conf.broker_url, conf.result_backend)
    point_at(url, url)
    try:
        yield
    finally:
        point_at(*saved)


def _worker(tmp_path: Path, broker: str, *, queues: str, name: str) -> Running:
    # Job rows and execution records stay in the test database and the test Redis; only the
    # broker is the private one.
    env = {**WORKER_ENV, "CELERY_BROKER_URL": broker, "CELERY_RESULT_BACKEND": broker}
    command = cli("worker", "-Q", queues, "-c", "1", "-n", f"{name}@%h")
    command += ["--include", "tests.jobs.sample_tasks"]
    return start(command, log_path=tmp_path / f"{name}.log", env=env)


def _answers(worker: Running, name: str) -> bool:
    assert worker.process.poll() is None, worker.output()[-4000:]
    replies = celery_app.control.ping(timeout=0.5) or []
    return any(node.startswith(f"{name}@") for reply in replies for node in reply)


@pytest.fixture
def broker() -> Iterator[PrivateRedis]:
    with private_redis() as server, celery_broker(server.url()):
        yield server


def test_workers_survive_a_redis_restart_and_jobs_finish(
    broker: PrivateRedis, tmp_path: Path
) -> None:
    # Two workers, like `up` (default,low and render): each sees the other's events.
    workers = {
        "restart-default": _worker(tmp_path, broker.url(), queues="default,low", name="r-main"),
        "restart-render": _worker(tmp_path, broker.url(), queues="render", name="r-render"),
    }
    try:
        for name, worker in zip(("r-main", "r-render"), workers.values(), strict=True):
            wait_for(lambda w=worker, n=name: _answers(w, n), timeout=120, what=f"{name} ready")
        running = start_job("test_steps", config={"steps": 60, "rounds": 100, "pause": 0.25})
        wait_for(lambda: load(running.id).progress_current, timeout=60, what="the job to run")

        broker.stop()
        queued = start_job("test_noop")  # published into nothing: stays queued
        time.sleep(10)  # the outage
        assert load(queued.id).status == JobStatus.queued
        broker.start()

        finished = wait_terminal(running.id, timeout=90)
        assert finished.status == JobStatus.completed
        assert len(executions(running.id)) == 1  # finished where it ran, not run again

        # Redis lost its data: the sweep publishes the queued job again.
        report = sweep_stalled_jobs(requeue_after_seconds=0)
        assert str(queued.id) in report.republished
        assert wait_terminal(queued.id, timeout=90).status == JobStatus.completed

        after = start_job("test_noop")
        assert wait_terminal(after.id, timeout=90).status == JobStatus.completed
        for name, worker in workers.items():
            assert worker.process.poll() is None, f"{name} died:\n{worker.output()[-4000:]}"
    finally:
        for worker in workers.values():
            stop(worker)
