"""Redis behind Sentinel, as a setting: REDIS_SENTINEL_MASTER with sentinel:// URLs reaches
the broker (workers, publishing), the result backend, the readiness check and every other
Redis client through a real sentinel (`redis-server --sentinel`, which Debian's
redis-server package runs) in front of a real Redis."""

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery

from app.core.config import Settings
from app.core.redis_client import parse_sentinel_url
from app.jobs.dispatch import publish_job
from app.jobs.models import JobStatus
from tests.core.processes import cli, free_port, http_get, running, wait_for
from tests.core.servers import private_redis
from tests.jobs.conftest import load
from tests.jobs.conftest import start as start_job
from tests.workers import WORKER_ENV

MASTER = "seo-master"


def test_the_sentinel_setting_reaches_the_broker_and_the_result_backend() -> None:
    urls = "sentinel://:pw@10.0.0.1:26379;sentinel://10.0.0.2:26380/3"
    configured = Settings(
        REDIS_URL=urls,
        CELERY_BROKER_URL=urls,
        CELERY_RESULT_BACKEND=urls,
        REDIS_SENTINEL_MASTER=MASTER,
    )
    assert configured.sentinel_transport_options == {"master_name": MASTER}
    address = parse_sentinel_url(urls)
    assert address.sentinels == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]
    assert address.db == 3
    assert address.password == "pw"


def test_sentinel_urls_without_a_master_name_are_refused() -> None:
    with pytest.raises(ValueError, match="REDIS_SENTINEL_MASTER"):
        Settings(REDIS_URL="sentinel://10.0.0.1:26379/0")


def test_extra_broker_transport_options_come_from_a_json_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    options = '{"sentinel_kwargs": {"password": "x"}}'
    monkeypatch.setenv("CELERY_BROKER_TRANSPORT_OPTIONS", options)
    configured = Settings()
    assert configured.CELERY_BROKER_TRANSPORT_OPTIONS == {"sentinel_kwargs": {"password": "x"}}


@pytest.fixture
def sentinel_url(tmp_path: Path) -> Iterator[str]:
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    with private_redis() as master:
        port = free_port()
        config = tmp_path / "sentinel.conf"  # Sentinel rewrites its file: a private copy
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\n"
            f"sentinel monitor {MASTER} 127.0.0.1 {master.port} 1\n"
        )
        command = ["redis-server", str(config), "--sentinel"]
        with running(command, log_path=tmp_path / "sentinel.log", cwd=tmp_path):
            wait_for(
                lambda: _sentinel_knows_master(port, master.port),
                timeout=30,
                what="the sentinel to monitor the master",
            )
            yield f"sentinel://127.0.0.1:{port}/0"


def _sentinel_knows_master(port: int, master_port: int) -> bool:
    reply = subprocess.run(
        ["redis-cli", "-p", str(port), "SENTINEL", "get-master-addr-by-name", MASTER],
        capture_output=True,
        text=True,
        timeout=5,
        check=False,
    ).stdout.split()
    return reply == ["127.0.0.1", str(master_port)]


@pytest.mark.slow
def test_the_platform_runs_through_a_real_sentinel(
    sentinel_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {
        **WORKER_ENV,
        "REDIS_URL": sentinel_url,
        "CELERY_BROKER_URL": sentinel_url,
        "CELERY_RESULT_BACKEND": sentinel_url,
        "REDIS_SENTINEL_MASTER": MASTER,
    }
    api_port = free_port()
    api_command = cli("api", "--host", "127.0.0.1", "--port", str(api_port))
    worker_command = cli("worker", "-Q", "default,low", "-c", "1", "-n", "sentinel@%h")
    worker_command += ["--include", "tests.jobs.sample_tasks"]
    ready = f"http://127.0.0.1:{api_port}/api/v1/health/ready"
    with (
        running(api_command, log_path=tmp_path / "api.log", env=env) as api,
        running(worker_command, log_path=tmp_path / "worker.log", env=env) as worker,
    ):
        # Readiness pings Redis and the workers, both through the sentinel.
        wait_for(lambda: http_get(ready)[0] == 200, timeout=180, what="ready", child=api)
        assert worker.process.poll() is None

        # A job published through the sentinel runs on the worker and records its execution
        # in the Redis the sentinel names.
        job = start_job("test_noop")
        monkeypatch.setenv("CELERY_BROKER_URL", sentinel_url)  # Celery reads it first
        publisher = Celery(broker=sentinel_url)
        publisher.conf.broker_transport_options = {"master_name": MASTER}
        try:
            assert publish_job(
                job_id=str(job.id),
                job_type=job.job_type,
                stage="test_noop",
                priority=job.priority,
                account="",
                app=publisher,
            )
        finally:
            publisher.close()
        terminal = {JobStatus.completed, JobStatus.failed, JobStatus.cancelled}
        wait_for(
            lambda: load(job.id).status in terminal,
            timeout=60,
            what="the job run through the sentinel",
            child=worker,
        )
    done = load(job.id)
    assert done.status == JobStatus.completed, (done.error_message, worker.output()[-3000:])
