"""A worker with several threads per process (`--pool threads`): the runtime's lease and
heartbeat hold for every job the process runs, not only the newest."""

import time

import pytest

from app.jobs.models import JobStatus
from app.jobs.rescue import sweep_stalled_jobs
from tests.jobs.conftest import executions, load, start, wait_for, wait_terminal
from tests.workers import WORKER_ENV, celery_worker

LEASE = float(WORKER_ENV["JOB_LEASE_SECONDS"])


@pytest.mark.slow
def test_every_job_of_a_threaded_worker_keeps_its_lease() -> None:
    """`--pool threads -c 2`: two long silent jobs in one process, the older one started
    first; the heartbeat extends both leases, so the sweep rescues neither."""
    with celery_worker(pool="threads", concurrency=2):
        older = start("test_silent", config={"seconds": LEASE * 2})
        wait_for(lambda: load(older.id).status == JobStatus.running, timeout=10, what="older")
        newer = start("test_silent", config={"seconds": LEASE * 2})
        wait_for(lambda: load(newer.id).status == JobStatus.running, timeout=10, what="newer")

        rescued: list[str] = []
        deadline = time.monotonic() + LEASE * 2 + 10
        while time.monotonic() < deadline and any(
            load(job.id).status == JobStatus.running for job in (older, newer)
        ):
            rescued += sweep_stalled_jobs(requeue_after_seconds=LEASE).rescued
            time.sleep(0.5)
        finals = [wait_terminal(job.id) for job in (older, newer)]

    assert rescued == []
    assert [(done.status, done.attempts) for done in finals] == [(JobStatus.completed, 1)] * 2
    assert [len(executions(job.id)) for job in (older, newer)] == [1, 1]
