"""Notifications under load: 1,000 jobs of projects with 3 webhook endpoints each (two
receivers answer at once, one takes 2 s), run end to end with notifications on, against the
same run with notifications off, alternating, in the same process set-up:

- job throughput (jobs/s from the first start to the last completion): on / off, per round;
- every delivery done once: each (event, endpoint) answered 200 exactly once;
- the backlog drain: from the last job's completion to the last delivery, and its rate;
- CPU seconds per job, which the 2-core machine's other load does not move much: the job
  worker's processes and their PostgreSQL sessions (named by PGAPPNAME), and, with
  notifications on, the `low` worker's and theirs, during the jobs and through the drain.

Processes: a job worker on `default` (prefork 2, as job_throughput), and with notifications
on a worker on `low` (prefork 2, under `nice -n 10`, as docs/architecture.md advises for the
`low` consumer) for the outbox consumer and the senders, plus a Beat stand-in publishing the
consumer task every 2 s; the receivers are a process of their own under `nice -n 15`
(bench/webhook_receiver.py: they stand for other companies' servers).

Run from backend/:  uv run python -m bench.notifications_load [--jobs 1000] [--rounds 2]
"""

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bench.job_harness import BACKEND_DIR, celery_worker, prepare_database, private_redis
from bench.webhook_receiver import SLOW_SECONDS

os.environ.update(
    {
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",  # the receivers answer on loopback
        "WEBHOOK_TIMEOUT_SECONDS": "10",
        "MAX_ACTIVE_JOBS_PER_USER": "100000",
    }
)

PROJECTS = 10
JOBS_APP = "bench-jobs"  # PGAPPNAME of the job worker's database sessions
NOTIFY_APP = "bench-notify"  # and of the `low` worker's
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command name (state first)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def _cpu(fields: list[str], *, reaped: bool) -> float:
    ticks = int(fields[11]) + int(fields[12])  # utime, stime
    if reaped:
        ticks += int(fields[13]) + int(fields[14])  # of the children it waited for
    return ticks / CLOCK_TICKS


def tree_cpu(root: int) -> float:
    """CPU seconds of a process, its live descendants and the children it reaped."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (fields := _stat(int(entry))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, stack = 0.0, [root]
    while stack:
        pid = stack.pop()
        if (fields := _stat(pid)) is not None:
            total += _cpu(fields, reaped=True)
        stack += children.get(pid, [])
    return total


def backend_cpu() -> dict[int, tuple[str, float]]:
    """CPU seconds of each PostgreSQL session of the benchmark database, by process id."""
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT pid, application_name FROM pg_stat_activity "
                "WHERE datname = current_database()"
            )
        ).all()
    found = {}
    for pid, name in rows:
        if (fields := _stat(int(pid))) is not None:
            found[int(pid)] = (str(name), _cpu(fields, reaped=False))
    return found


@dataclass
class CpuSample:
    workers: dict[str, float]  # worker name -> CPU seconds of its process tree
    backends: dict[int, tuple[str, float]]

    @classmethod
    def take(cls, workers: dict[str, Any]) -> "CpuSample":
        return cls(
            workers={name: tree_cpu(worker.process.pid) for name, worker in workers.items()},
            backends=backend_cpu(),
        )

    def since(self, start: "CpuSample") -> dict[str, float]:
        """CPU seconds spent between `start` and this sample: per worker, and per database
        application (sessions opened meanwhile count whole; sessions closed meanwhile are
        lost, so the database figures are lower bounds)."""
        spent = {name: cpu - start.workers.get(name, 0.0) for name, cpu in self.workers.items()}
        for pid, (name, cpu) in self.backends.items():
            before = start.backends.get(pid)
            spent[f"pg:{name}"] = (
                spent.get(f"pg:{name}", 0.0) + cpu - (before[1] if before is not None else 0.0)
            )
        return spent


class Receivers:
    """The receivers' process (bench/webhook_receiver.py), under `nice`: they stand for
    other companies' servers and must not take CPU from the jobs measured."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.process = subprocess.Popen(
            ["nice", "-n", "15", sys.executable, "-m", "bench.webhook_receiver", str(self.port)],
            cwd=BACKEND_DIR,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.answered()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answered(self) -> dict[str, int]:
        with urllib.request.urlopen(self.url("/stats"), timeout=30) as response:
            counts: dict[str, int] = json.loads(response.read())
        return counts

    def reset(self) -> None:
        request = urllib.request.Request(self.url("/reset"), data=b"", method="POST")
        urllib.request.urlopen(request, timeout=30).close()

    def close(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@dataclass
class Run:
    jobs_per_second: float
    drain_seconds: float = 0.0
    deliveries: int = 0
    duplicates: int = 0
    missing: int = 0
    # CPU seconds per job, from the first start to the last completion, and (notifications
    # on) from the first start to the last delivery.
    cpu_jobs: dict[str, float] = field(default_factory=dict)
    cpu_total: dict[str, float] = field(default_factory=dict)


def _setup(receivers: Receivers) -> list[Any]:
    """A user, PROJECTS projects, each with 3 webhook endpoints (fast, fast, slow)."""
    from sqlmodel import Session

    from app.core.db import engine
    from app.notifications import service
    from app.notifications.models import WebhookCreate
    from app.projects import service as projects_service
    from app.projects.models import ProjectCreate
    from app.users import service as users_service
    from app.users.models import UserCreate

    with Session(engine, expire_on_commit=False) as session:
        user = users_service.create_user(
            session=session,
            user_in=UserCreate(
                email=f"bench-{uuid.uuid4().hex[:8]}@example.com", password="x" * 12
            ),
            is_superuser=True,
        )
        projects = []
        for number in range(PROJECTS):
            project = projects_service.create_project(
                session=session,
                owner=user,
                project_in=ProjectCreate(name=f"Site {number}", site_url="https://example.com"),
            )
            for path in ("/fast-a", "/fast-b", "/slow"):
                service.create_webhook(
                    session=session,
                    project=project,
                    webhook_in=WebhookCreate(url=receivers.url(path), events=["job.completed"]),
                )
            projects.append(project)
        return projects


def _reset() -> None:
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.begin() as connection:
        connection.execute(
            sa.text("TRUNCATE job_runs, job_events, notification_deliveries CASCADE")
        )


def _wait(done: Any, timeout: float, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        time.sleep(interval)


def _pending_deliveries() -> int:
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM notification_deliveries WHERE status <> 'delivered'")
            ).scalar_one()
        )


def _undispatched() -> int:
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.connect() as connection:
        return int(
            connection.execute(
                sa.text("SELECT count(*) FROM job_events WHERE processed_at IS NULL")
            ).scalar_one()
        )


def run_variant(on: bool, jobs: int, projects: list[Any], receivers: Receivers) -> Run:
    from contextlib import ExitStack

    from sqlmodel import Session

    from app.core.db import engine
    from app.jobs import service
    from app.notifications import tasks
    from bench import job_tasks

    _reset()
    receivers.reset()
    with ExitStack() as stack:
        workers = {
            "jobs": stack.enter_context(celery_worker(concurrency=2, env={"PGAPPNAME": JOBS_APP}))
        }
        stop_beat = threading.Event()
        if on:
            # The `low` consumer runs niced, as the docs advise: notifications yield the CPU
            # to jobs when both want it.
            workers["notify"] = stack.enter_context(
                celery_worker(concurrency=2, queues="low", nice=10, env={"PGAPPNAME": NOTIFY_APP})
            )

            def beat() -> None:  # the Beat entry "notifications-dispatch"
                while not stop_beat.wait(2.0):
                    tasks.dispatch_events.apply_async()

            threading.Thread(target=beat, daemon=True).start()
        cpu_start = CpuSample.take(workers)
        started = time.perf_counter()

        def start_one(index: int) -> None:
            with Session(engine) as session:
                service.start_job(
                    session=session,
                    job_type="maintenance",
                    stage="bench_trivial",
                    project=projects[index % len(projects)],
                    user=None,
                )

        with ThreadPoolExecutor(4) as pool:
            list(pool.map(start_one, range(jobs)))
        _wait(lambda: not job_tasks.any_job_active(), timeout=900)
        jobs_done = time.perf_counter()
        cpu_jobs = CpuSample.take(workers).since(cpu_start)
        if job_tasks.completed_count() != jobs:
            raise RuntimeError("not every job completed")
        run = Run(
            jobs_per_second=jobs / (jobs_done - started),
            cpu_jobs={name: spent / jobs for name, spent in cpu_jobs.items()},
        )
        if on:
            expected = 3 * jobs
            _wait(lambda: _undispatched() == 0, timeout=600, interval=0.2)
            _wait(lambda: _pending_deliveries() == 0, timeout=900, interval=0.2)
            drained = time.perf_counter()
            run.drain_seconds = drained - jobs_done
            cpu_total = CpuSample.take(workers).since(cpu_start)
            run.cpu_total = {name: spent / jobs for name, spent in cpu_total.items()}
            answered = receivers.answered()
            run.deliveries = sum(answered.values())
            run.duplicates = sum(count - 1 for count in answered.values() if count > 1)
            run.missing = expected - len(answered)
        stop_beat.set()
    return run


def _ms(spent: dict[str, float]) -> str:
    return ", ".join(f"{name} {cpu * 1000:.2f}" for name, cpu in sorted(spent.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    prepare_database()
    receivers = Receivers()
    runs: dict[str, list[Run]] = {"off": [], "on": []}
    with private_redis(), contextlib.closing(receivers) as receivers:
        projects = _setup(receivers)
        for number in range(1, args.rounds + 1):
            for variant in ("off", "on"):
                run = run_variant(variant == "on", args.jobs, projects, receivers)
                runs[variant].append(run)
                extra = (
                    f"  drain {run.drain_seconds:6.1f} s after the last job"
                    f"  deliveries {run.deliveries} (duplicates {run.duplicates},"
                    f" missing {run.missing})"
                    if variant == "on"
                    else ""
                )
                print(
                    f"round {number} notifications {variant:3} "
                    f"{run.jobs_per_second:7.1f} jobs/s{extra}",
                    flush=True,
                )
                print(f"    CPU ms/job during the jobs: {_ms(run.cpu_jobs)}", flush=True)
                if variant == "on":
                    print(f"    CPU ms/job through the drain: {_ms(run.cpu_total)}", flush=True)
    ratios = [
        on.jobs_per_second / off.jobs_per_second
        for off, on in zip(runs["off"], runs["on"], strict=True)
    ]
    print(
        f"\n{args.jobs} jobs, {PROJECTS} projects x 3 endpoints "
        f"(one answering in {SLOW_SECONDS:g} s)"
    )
    print(
        "  job throughput on / off per round: "
        + ", ".join(f"{ratio:.1%}" for ratio in ratios)
        + f"; median {statistics.median(ratios):.1%}"
    )
    drains = [run.drain_seconds for run in runs["on"]]
    print(f"  backlog drained {statistics.median(drains):.1f} s after the last job (median)")
    for name in ("jobs", f"pg:{JOBS_APP}"):
        off = statistics.median(run.cpu_jobs.get(name, 0.0) for run in runs["off"])
        on = statistics.median(run.cpu_jobs.get(name, 0.0) for run in runs["on"])
        print(
            f"  CPU of {name} per job (median): off {off * 1000:.2f} ms, on {on * 1000:.2f} ms"
            f" ({on / off if off else 0:.1%})"
        )
    for name in ("notify", f"pg:{NOTIFY_APP}"):
        during = statistics.median(run.cpu_jobs.get(name, 0.0) for run in runs["on"])
        total = statistics.median(run.cpu_total.get(name, 0.0) for run in runs["on"])
        print(
            f"  CPU of {name} per job (median): {during * 1000:.2f} ms during the jobs, "
            f"{total * 1000:.2f} ms through the drain"
        )
    print(
        f"  deliveries answered per run: {[run.deliveries for run in runs['on']]}"
        f" (expected {3 * args.jobs}); duplicates {[run.duplicates for run in runs['on']]},"
        f" missing {[run.missing for run in runs['on']]}"
    )


if __name__ == "__main__":
    main()
