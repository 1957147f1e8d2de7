"""Real Celery worker processes for tests: started as subprocesses with the test environment,
waited for until they answer a ping, stopped (or killed) on exit."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

BACKEND_DIR = Path(__file__).resolve().parents[1]

# Short leases and backoffs, so rescue and retry paths run in seconds.
WORKER_ENV = {
    "JOB_LEASE_SECONDS": "5",
    "JOB_REQUEUE_AFTER_SECONDS": "5",
    "JOB_RETRY_BACKOFF_BASE_SECONDS": "0.2",
    "JOB_RETRY_BACKOFF_CAP_SECONDS": "2",
    "LOG_LEVEL": "WARNING",
}


class WorkerProcess:
    def __init__(self, process: "subprocess.Popen[bytes]", nodename: str, log_path: Path) -> None:
        self.process = process
        self.nodename = nodename
        self.log_path = log_path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: nothing gets to clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()  # warm shutdown: the main process stops its children
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def _wait_until_ready(worker: WorkerProcess, timeout: float) -> None:
    from app.core.celery_app import celery_app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker exited at start-up:\n{worker.log()[-4000:]}")
        replies = celery_app.control.ping(destination=[worker.nodename], timeout=0.5)
        if replies:
            return
    worker.kill()
    raise TimeoutError(f"worker did not answer within {timeout}s:\n{worker.log()[-4000:]}")


@contextmanager
def celery_worker(
    *,
    concurrency: int = 2,
    queues: str = "default,low,render",
    pool: str = "prefork",
    env: Mapping[str, str] | None = None,
    include: str = "tests.jobs.sample_tasks",
    ready_timeout: float = 30,
) -> Iterator[WorkerProcess]:
    nodename = f"test-{uuid.uuid4().hex[:8]}@localhost"
    log_file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the worker
        prefix="celery-worker-", suffix=".log", delete=False
    )
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "app.core.celery_app",
        "worker",
        "-P",
        pool,
        "-c",
        str(concurrency),
        "-Q",
        queues,
        "-n",
        nodename,
        "-I",
        include,
        "--without-gossip",
        "--without-mingle",
        "-l",
        "WARNING",
    ]
    process_env = {
        **os.environ,
        "PYTHONPATH": str(BACKEND_DIR),
        **WORKER_ENV,
        **(env or {}),
    }
    process = subprocess.Popen(
        command,
        cwd=BACKEND_DIR,
        env=process_env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so kill() reaches the children
    )
    worker = WorkerProcess(process, nodename, Path(log_file.name))
    try:
        _wait_until_ready(worker, ready_timeout)
        yield worker
    finally:
        worker.stop()
        log_file.close()
        os.unlink(log_file.name)
