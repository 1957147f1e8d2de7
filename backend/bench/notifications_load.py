"""Notifications under load (issue 15's benchmark): 1,000 jobs of projects with 3 webhook
endpoints each (two receivers answer at once, one takes 2 s), run end to end with
notifications on, against the same run with notifications off, in the same process set-up.

Two modes, each run in rounds that alternate the variants (off, on; then on, off; ...):

- **paced** (the headline, the issue's scenario): the jobs are offered at an even rate over
  `--pace` seconds (60: "1,000 jobs completing within a minute"), as a site's users and Beat
  would, not all at once. Reported per variant: completions per second over the window (from
  the first offer to the last completion), each job's latency from its start (`start_job`,
  queued_at) to its completion (finished_at) p50 / p95 / max, and the producer's lateness
  (how far behind the schedule a job was offered; large only if the bench itself starved).
  The run fails (exit status 1) unless, as medians over the rounds: throughput on / off
  >= 0.95, job latency p95 on - off below half the slow receiver's answer time (a job that
  waited on a delivery would add at least that), every delivery answered exactly once, and
  the backlog drained within `--drain-bound` seconds of the last job. `--hold-on S` makes
  every job of the "on" runs keep its worker slot S seconds (a job path blocked on something
  outside, as if it waited on a delivery) to show the check failing.
- **saturated** (second figure): the jobs offered as fast as four producer threads can, so
  throughput is the machine's ceiling; on a 2-core host the `low` consumer's CPU competes
  with the jobs there by construction, so this ratio says what notifications cost when jobs
  leave no CPU spare, not whether the issue's load is met.

Also per run: every delivery done once (each (event, endpoint) answered 200 exactly once);
the backlog drain, from the last job's completion to the last delivery; each delivery's
delay from its job's completion to its answer recorded (p50 / p95); and CPU seconds per job,
which the 2-core machine's other load moves much less than wall time: the job worker's
processes and their PostgreSQL sessions (named by PGAPPNAME), and, with notifications on,
the `low` worker's and theirs, during the jobs and through the drain; and the SQL statements
and commits per job the job worker sent (its processes count them, bench/job_tasks.py): the
job path with notifications on does exactly what it does with them off (the outbox row is
written by every terminal transition, whoever reads it), which these show.

Processes: a job worker on `default` (prefork 2, as job_throughput), and with notifications
on a worker on `low` (prefork 2, under `nice -n 10`, as docs/architecture.md advises for the
`low` consumer) for the outbox consumer and the senders, plus a Beat stand-in publishing the
consumer task on the notifications domain's schedule; the receivers are a process of their
own under `nice -n 15` (bench/webhook_receiver.py: they stand for other companies' servers,
which take none of our CPU); their CPU per job is reported apart ("receivers"), and the
answer times the senders saw show whether they answered as the scenario has them.

Run from backend/:
  uv run python -m bench.notifications_load [--jobs 1000] [--rounds 3] [--mode both]
      [--pace 60] [--drain-bound 10] [--hold-on 0]
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
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
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
                self.stats()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stats(self) -> dict[str, dict[str, int]]:
        """{"answered": {(path event): count}, "received": {...}}."""
        with urllib.request.urlopen(self.url("/stats"), timeout=30) as response:
            counts: dict[str, dict[str, int]] = json.loads(response.read())
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
    window_seconds: float
    # Each job's start (queued_at) to its completion (finished_at), seconds.
    latency: dict[str, float] = field(default_factory=dict)  # p50, p95, max
    offer_lateness_max: float = 0.0  # paced: the latest a job was offered after its slot
    drain_seconds: float = 0.0
    # Each delivery's job completion to the delivery's answer recorded, seconds.
    delivery_delay: dict[str, float] = field(default_factory=dict)
    deliveries: int = 0
    duplicates: int = 0  # (event, endpoint) answered 200 more than once
    missing: int = 0  # never answered
    resent: int = 0  # requests the receivers saw beyond the first per (event, endpoint)
    # Attempts the senders recorded, by outcome ("200", "timed out after 10 s", ...), and the
    # answer time per endpoint path as the senders saw it (p50, p95, max; seconds).
    attempts: dict[str, int] = field(default_factory=dict)
    answer_time: dict[str, dict[str, float]] = field(default_factory=dict)
    # CPU seconds per job, from the first start to the last completion, and (notifications
    # on) from the first start to the last delivery.
    cpu_jobs: dict[str, float] = field(default_factory=dict)
    cpu_total: dict[str, float] = field(default_factory=dict)
    # SQL statements and commits per job, sent by the job worker's processes.
    sql_per_job: dict[str, float] = field(default_factory=dict)


def _setup(receivers: Receivers) -> list[Any]:
    """A user, PROJECTS projects, each with 3 webhook endpoints (fast, fast, slow)."""
    from sqlmodel import Session

    from app.core.db import engine
    from app.notifications import service
    from app.notifications.models import NotificationEvent, WebhookCreate
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
                    webhook_in=WebhookCreate(
                        url=receivers.url(path), events=[NotificationEvent.job_completed]
                    ),
                )
            projects.append(project)
        return projects


def _reset() -> None:
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.begin() as connection:
        connection.execute(
            sa.text(
                "TRUNCATE job_runs, job_events, notification_events, "
                "notification_deliveries CASCADE"
            )
        )


def _wait(done: Callable[[], bool], timeout: float, interval: float = 0.01) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError("timed out")
        time.sleep(interval)


def _count(query: str) -> int:
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.connect() as connection:
        return int(connection.execute(sa.text(query)).scalar_one())


def _pending_deliveries() -> int:
    return _count("SELECT count(*) FROM notification_deliveries WHERE status <> 'delivered'")


def _undispatched() -> int:
    return _count("SELECT count(*) FROM job_events WHERE processed_at IS NULL")


def _spread(query: str) -> dict[str, float]:
    """p50, p95 and max of the seconds `query` answers (one column)."""
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.connect() as connection:
        row = connection.execute(
            sa.text(
                "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s), "
                "percentile_cont(0.95) WITHIN GROUP (ORDER BY s), max(s) "
                f"FROM ({query}) AS q(s)"  # the queries are this module's constants
            )
        ).one()
    return {"p50": float(row[0] or 0), "p95": float(row[1] or 0), "max": float(row[2] or 0)}


def _job_latency() -> dict[str, float]:
    return _spread(
        "SELECT extract(epoch FROM finished_at - queued_at) FROM job_runs "
        "WHERE status = 'completed'"
    )


def _delivery_delay() -> dict[str, float]:
    return _spread(
        "SELECT extract(epoch FROM d.finished_at - j.finished_at) "
        "FROM notification_deliveries AS d JOIN job_runs AS j ON j.id = d.job_id "
        "WHERE d.status = 'delivered'"
    )


def _attempts() -> dict[str, int]:
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.connect() as connection:
        rows = connection.execute(
            sa.text(
                "SELECT coalesce(left(error, 40), status_code::text), count(*) "
                "FROM notification_delivery_attempts GROUP BY 1"
            )
        ).all()
    return {str(outcome): int(count) for outcome, count in rows}


def _answer_times() -> dict[str, dict[str, float]]:
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.connect() as connection:
        paths = connection.execute(sa.text("SELECT DISTINCT url FROM webhook_endpoints")).all()
    found = {}
    for (url,) in paths:
        path = urllib.parse.urlsplit(url).path
        found[path] = _spread(
            "SELECT a.latency_ms / 1000.0 FROM notification_delivery_attempts AS a "
            "JOIN notification_deliveries AS d ON d.id = a.delivery_id "
            "JOIN webhook_endpoints AS e ON e.id = d.endpoint_id "
            f"WHERE a.status_code IS NOT NULL AND e.url = '{url}'"  # our own URLs
        )
    return found


def _offer(jobs: int, pace: float | None, start_one: Callable[[int], None]) -> float:
    """Starts the jobs from four producer threads: as fast as they can (pace None), or job i
    at i * pace / jobs seconds after the first. Returns the latest a job was offered after
    its slot (0 when unpaced)."""
    lock = threading.Lock()
    taken = iter(range(jobs))
    lateness = [0.0]
    began = time.perf_counter()

    def producer() -> None:
        while True:
            with lock:
                index = next(taken, None)
            if index is None:
                return
            if pace is not None:
                slot = began + index * pace / jobs
                ahead = slot - time.perf_counter()
                if ahead > 0:
                    time.sleep(ahead)  # the offered load's schedule, not a wait on an event
                else:
                    with lock:
                        lateness[0] = max(lateness[0], -ahead)
            start_one(index)

    with ThreadPoolExecutor(4) as pool:
        for future in [pool.submit(producer) for _ in range(4)]:
            future.result()
    return lateness[0]


def run_variant(
    on: bool,
    jobs: int,
    projects: list[Any],
    receivers: Receivers,
    redis_client: Any,
    *,
    pace: float | None,
    hold_seconds: float = 0.0,
) -> Run:
    from contextlib import ExitStack

    from sqlmodel import Session

    from app.core.db import engine
    from app.jobs import service
    from app.notifications import tasks
    from app.notifications.domain import domain
    from bench import job_tasks

    _reset()
    receivers.reset()
    redis_client.delete(job_tasks.SQL_COUNTS_KEY)
    config = {"hold_seconds": hold_seconds} if on and hold_seconds else None
    with ExitStack() as stack:
        workers: dict[str, Any] = {
            "jobs": stack.enter_context(celery_worker(concurrency=2, env={"PGAPPNAME": JOBS_APP}))
        }
        stop_beat = threading.Event()
        if on:
            # The `low` consumer runs niced, as the docs advise: notifications yield the CPU
            # to jobs when both want it.
            workers["notify"] = stack.enter_context(
                celery_worker(
                    concurrency=2,
                    queues="low",
                    nice=10,
                    # Not bench.job_tasks: only the job worker counts its statements.
                    include="app.notifications.tasks",
                    env={"PGAPPNAME": NOTIFY_APP},
                )
            )
            workers["receivers"] = receivers  # for their CPU, reported apart
            entry = domain.schedule["notifications-dispatch"]
            assert isinstance(entry.schedule, float)
            period = entry.schedule

            def beat() -> None:  # the Beat entry "notifications-dispatch", on its schedule
                while not stop_beat.wait(period):
                    tasks.dispatch_events.apply_async(**entry.options)

            threading.Thread(target=beat, daemon=True).start()
        stack.callback(stop_beat.set)
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
                    config=config,
                )

        lateness = _offer(jobs, pace, start_one)
        _wait(lambda: not job_tasks.any_job_active(), timeout=900)
        jobs_done = time.perf_counter()
        cpu_jobs = CpuSample.take(workers).since(cpu_start)
        if job_tasks.completed_count() != jobs:
            raise RuntimeError("not every job completed")
        window = jobs_done - started
        run = Run(
            jobs_per_second=jobs / window,
            window_seconds=window,
            latency=_job_latency(),
            offer_lateness_max=lateness,
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
            run.delivery_delay = _delivery_delay()
            run.attempts = _attempts()
            run.answer_time = _answer_times()
            stats = receivers.stats()
            answered, received = stats["answered"], stats["received"]
            run.deliveries = sum(answered.values())
            run.duplicates = sum(count - 1 for count in answered.values() if count > 1)
            run.missing = expected - len(answered)
            run.resent = sum(received.values()) - len(received)
    # The job worker's processes added their statement counts as they exited.
    counted = redis_client.hgetall(job_tasks.SQL_COUNTS_KEY)
    run.sql_per_job = {key.decode(): int(value) / jobs for key, value in counted.items()}
    return run


def _ms(spent: dict[str, float]) -> str:
    return ", ".join(f"{name} {cpu * 1000:.2f}" for name, cpu in sorted(spent.items()))


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _print_run(mode: str, number: int, variant: str, run: Run) -> None:
    lat = run.latency
    line = (
        f"{mode} round {number} notifications {variant:3} {run.jobs_per_second:7.2f} jobs/s"
        f" over {run.window_seconds:6.1f} s; latency p50 {lat['p50'] * 1000:.0f} ms"
        f" p95 {lat['p95'] * 1000:.0f} ms max {lat['max'] * 1000:.0f} ms"
    )
    if mode == "paced":
        line += f"; offered late by at most {run.offer_lateness_max * 1000:.0f} ms"
    print(line, flush=True)
    if variant == "on":
        delay = run.delivery_delay
        print(
            f"    drain {run.drain_seconds:.1f} s after the last job; delivery after its job"
            f" p50 {delay['p50']:.2f} s p95 {delay['p95']:.2f} s max {delay['max']:.2f} s;"
            f" deliveries {run.deliveries} (duplicates {run.duplicates},"
            f" missing {run.missing}, requests re-sent {run.resent})",
            flush=True,
        )
        outcomes = ", ".join(f"{name}: {count}" for name, count in sorted(run.attempts.items()))
        answers = "; ".join(
            f"{path} p50 {t['p50']:.3f} p95 {t['p95']:.3f} max {t['max']:.3f}"
            for path, t in sorted(run.answer_time.items())
        )
        print(f"    attempts {outcomes}; answer time seen by the senders, s: {answers}", flush=True)
    print(f"    CPU ms/job during the jobs: {_ms(run.cpu_jobs)}", flush=True)
    if variant == "on":
        print(f"    CPU ms/job through the drain: {_ms(run.cpu_total)}", flush=True)
    sql = ", ".join(f"{name} {count:.2f}" for name, count in sorted(run.sql_per_job.items()))
    print(f"    job worker SQL per job: {sql}", flush=True)


def _summary(mode: str, jobs: int, runs: dict[str, list[Run]]) -> dict[str, float]:
    """Prints the mode's medians; answers the figures the verdict reads."""
    ratios = [
        on.jobs_per_second / off.jobs_per_second
        for off, on in zip(runs["off"], runs["on"], strict=True)
    ]
    print(
        f"\n{mode}: {jobs} jobs, {PROJECTS} projects x 3 endpoints "
        f"(one answering in {SLOW_SECONDS:g} s)"
    )
    for variant in ("off", "on"):
        print(
            f"  {variant:3} throughput per round: "
            + ", ".join(f"{run.jobs_per_second:.2f}" for run in runs[variant])
            + f" jobs/s; median {_median([r.jobs_per_second for r in runs[variant]]):.2f}"
        )
    print(
        "  job throughput on / off per round: "
        + ", ".join(f"{ratio:.1%}" for ratio in ratios)
        + f"; median {_median(ratios):.1%}"
    )
    p95 = {v: _median([r.latency["p95"] for r in runs[v]]) for v in ("off", "on")}
    p50 = {v: _median([r.latency["p50"] for r in runs[v]]) for v in ("off", "on")}
    print(
        f"  job latency start->done (median of rounds): off p50 {p50['off'] * 1000:.0f} ms"
        f" p95 {p95['off'] * 1000:.0f} ms; on p50 {p50['on'] * 1000:.0f} ms"
        f" p95 {p95['on'] * 1000:.0f} ms"
    )
    drains = [run.drain_seconds for run in runs["on"]]
    print(
        f"  backlog drained after the last job: {', '.join(f'{d:.1f}' for d in drains)} s;"
        f" median {_median(drains):.1f} s, max {max(drains):.1f} s"
    )
    delay95 = [run.delivery_delay["p95"] for run in runs["on"]]
    print(
        "  delivery after its job, p95 per round: " + ", ".join(f"{d:.2f}" for d in delay95) + " s"
    )
    for name in ("jobs", f"pg:{JOBS_APP}"):
        off = _median([run.cpu_jobs.get(name, 0.0) for run in runs["off"]])
        on = _median([run.cpu_jobs.get(name, 0.0) for run in runs["on"]])
        print(
            f"  CPU of {name} per job (median): off {off * 1000:.2f} ms, on {on * 1000:.2f} ms"
            f" ({on / off if off else 0:.1%})"
        )
    for name in ("notify", f"pg:{NOTIFY_APP}", "receivers"):
        during = _median([run.cpu_jobs.get(name, 0.0) for run in runs["on"]])
        total = _median([run.cpu_total.get(name, 0.0) for run in runs["on"]])
        print(
            f"  CPU of {name} per job (median): {during * 1000:.2f} ms during the jobs, "
            f"{total * 1000:.2f} ms through the drain"
        )
    for key in ("statements", "commits"):
        off = _median([run.sql_per_job.get(key, 0.0) for run in runs["off"]])
        on = _median([run.sql_per_job.get(key, 0.0) for run in runs["on"]])
        print(f"  job worker SQL {key} per job (median): off {off:.2f}, on {on:.2f}")
    print(
        f"  deliveries answered per run: {[run.deliveries for run in runs['on']]}"
        f" (expected {3 * jobs}); duplicates {[run.duplicates for run in runs['on']]},"
        f" missing {[run.missing for run in runs['on']]},"
        f" requests re-sent {[run.resent for run in runs['on']]}"
    )
    return {
        "ratio": _median(ratios),
        "p95_added": p95["on"] - p95["off"],
        "drain_max": max(drains),
        "faults": float(sum(run.duplicates + run.missing for run in runs["on"])),
    }


def _verdict(figures: dict[str, float], drain_bound: float) -> bool:
    checks = [
        (f"throughput on / off {figures['ratio']:.1%} >= 95%", figures["ratio"] >= 0.95),
        (
            f"job latency p95 on - off {figures['p95_added'] * 1000:.0f} ms"
            f" < {SLOW_SECONDS / 2 * 1000:.0f} ms",
            figures["p95_added"] < SLOW_SECONDS / 2,
        ),
        ("every delivery answered exactly once", figures["faults"] == 0),
        (
            f"backlog drained within {drain_bound:g} s of the last job in every round"
            f" (max {figures['drain_max']:.1f} s)",
            figures["drain_max"] <= drain_bound,
        ),
    ]
    print("\npaced verdict:")
    for text, passed in checks:
        print(f"  {'PASS' if passed else 'FAIL'}  {text}")
    return all(passed for _, passed in checks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--mode", choices=("paced", "saturated", "both"), default="both")
    parser.add_argument(
        "--pace", type=float, default=60.0, help="seconds the jobs are offered over"
    )
    parser.add_argument(
        "--drain-bound",
        type=float,
        default=10.0,
        help="seconds from the last job's completion to the last delivery (paced)",
    )
    parser.add_argument(
        "--hold-on",
        type=float,
        default=0.0,
        help="seconds each job of the 'on' runs keeps its worker slot (shows a failing run)",
    )
    args = parser.parse_args()

    modes = ["paced", "saturated"] if args.mode == "both" else [args.mode]
    prepare_database()
    receivers = Receivers()
    runs: dict[str, dict[str, list[Run]]] = {mode: {"off": [], "on": []} for mode in modes}
    with private_redis() as redis_client, contextlib.closing(receivers) as receivers:
        projects = _setup(receivers)
        for mode in modes:
            for number in range(1, args.rounds + 1):
                # Alternating which variant goes first cancels a drift of the machine's load.
                order = ("off", "on") if number % 2 else ("on", "off")
                for variant in order:
                    run = run_variant(
                        variant == "on",
                        args.jobs,
                        projects,
                        receivers,
                        redis_client,
                        pace=args.pace if mode == "paced" else None,
                        hold_seconds=args.hold_on,
                    )
                    runs[mode][variant].append(run)
                    _print_run(mode, number, variant, run)
    figures = {mode: _summary(mode, args.jobs, runs[mode]) for mode in modes}
    if "paced" in figures and not _verdict(figures["paced"], args.drain_bound):
        sys.exit(1)


if __name__ == "__main__":
    main()
