"""Fault drill: N rounds of {SIGKILL a worker, restart PostgreSQL, restart Redis} while jobs
run, then count from the database the jobs lost, doubled and stuck, and the longest recovery.

    cd backend && uv run python -m bench.fault_drill --rounds 20 --jobs 200

Everything is private and real: a PostgreSQL cluster and a Redis (no persistence: a restart
loses every queued message) on free ports, two `seo-platform worker` processes (prefork,
2 each) supervised like `seo-platform up` supervises them (started again with back-off when
killed). The rescue sweep runs every 2 s from the drill (Beat runs it every minute; the drill
only compresses time), with JOB_REQUEUE_AFTER_SECONDS=15 and JOB_LEASE_SECONDS=5.

Per round: a batch of jobs is started (the 200 are spread over the rounds, so jobs run
through every fault), one worker's whole process group gets SIGKILL, PostgreSQL restarts
(fast shutdown, down 1 s), Redis restarts (down 1 s); then a canary job is started and the
time until it completes is the round's recovery time. The next round starts once both
workers answer again (the killed one restarted by the supervisor), so every round starts
from a whole platform; how long that took is reported too.

- lost: not terminal and not running at the end (queued or retrying, nobody will run it);
- stuck: not terminal after the final bounded wait;
- doubled: a (job, attempt) whose body started in two processes, or a job whose body ran to
  the end twice (drill_executions, written by bench/fault_tasks.py).
"""

import argparse
import contextlib
import io
import os
import signal
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.core.servers import PrivatePostgres, PrivateRedis

BACKEND_DIR = Path(__file__).resolve().parents[1]

DRILL_ENV = {
    "ENVIRONMENT": "local",
    "LOG_LEVEL": "ERROR",  # the drill's own sweeps are counted, not logged
    "JOB_LEASE_SECONDS": "5",
    # Longer than a job waits in the drill's queue behind the others, so the sweep republishes
    # lost messages, not merely waiting ones.
    "JOB_REQUEUE_AFTER_SECONDS": "15",
    "JOB_MAX_ATTEMPTS": "10",
    "JOB_RETRY_BACKOFF_BASE_SECONDS": "0.2",
    "JOB_RETRY_BACKOFF_CAP_SECONDS": "2",
    "PYTHONPATH": str(BACKEND_DIR),
}
SWEEP_EVERY_SECONDS = 2.0
OUTAGE_SECONDS = 1.0
TERMINAL = ("completed", "failed", "cancelled")


@dataclass
class Round:
    number: int
    recovery_seconds: float


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    args = parser.parse_args()

    postgres = PrivatePostgres()
    redis_server = PrivateRedis()
    database_url = postgres.url("seo_platform")
    os.environ.update(
        {
            **DRILL_ENV,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_server.url(),
            "CELERY_BROKER_URL": redis_server.url(),
            "CELERY_RESULT_BACKEND": redis_server.url(),
        }
    )
    log_dir = Path(tempfile.mkdtemp(prefix="fault-drill-"))
    postgres.start()
    redis_server.start()
    try:
        _prepare_database(database_url)
        return _drill(args, postgres, redis_server, log_dir)
    finally:
        redis_server.close()
        postgres.close()


def _prepare_database(url: str) -> None:
    import psycopg

    from app.core.db import libpq_dsn
    from app.core.migrations import upgrade_to_head
    from app.local.embedded import ensure_database
    from bench.fault_tasks import EXECUTIONS_DDL

    ensure_database(url)
    upgrade_to_head(url)
    with psycopg.connect(libpq_dsn(url), autocommit=True) as connection:
        connection.execute(EXECUTIONS_DDL)


def _drill(
    args: argparse.Namespace, postgres: PrivatePostgres, redis_server: PrivateRedis, log_dir: Path
) -> int:
    from app.core.logging import configure_logging
    from app.local.supervisor import ChildSpec, ProcessGroup, RestartBackoff

    configure_logging()
    supervisor_log = (log_dir / "workers.log").open("w")
    # Quick restarts (a worker is killed every other round): the drill measures recovery of
    # the jobs, not the back-off.
    group = ProcessGroup(
        out=supervisor_log,
        grace_seconds=10,
        backoff=RestartBackoff(initial=0.5, maximum=4, stable_after=10),
    )
    workers = []
    for name in ("a", "b"):
        command = [sys.executable, "-m", "app.cli", "worker", "-Q", "default,low", "-c", "2"]
        command += ["-n", f"drill-{name}@%h", "--include", "bench.fault_tasks"]
        env = {**os.environ, "LOG_LEVEL": "WARNING"}
        spec = ChildSpec(f"worker-{name}", command, env=env, cwd=str(BACKEND_DIR), restart=True)
        workers.append(group.start(spec))
    print(f"fault drill: {args.rounds} rounds, {args.jobs} jobs; logs in {log_dir}", flush=True)
    started = time.monotonic()
    job_ids: list[uuid.UUID] = []
    canaries: list[uuid.UUID] = []
    rounds: list[Round] = []
    comebacks: list[float] = []
    try:
        _wait(group, lambda: _workers_answer(2), timeout=180, what="the workers")
        per_round = [
            args.jobs // args.rounds + (i < args.jobs % args.rounds) for i in range(args.rounds)
        ]
        for number in range(1, args.rounds + 1):
            if number > 1:
                waited = time.monotonic()
                _wait(group, lambda: _workers_answer(2), timeout=180, what="the killed worker")
                comebacks.append(time.monotonic() - waited + rounds[-1].recovery_seconds)
            job_ids += [_start_job() for _ in range(per_round[number - 1])]
            victim = workers[number % 2]
            with contextlib.suppress(ProcessLookupError):
                os.killpg(victim.process.pid, signal.SIGKILL)
            postgres.restart(down_for=OUTAGE_SECONDS)
            redis_server.restart(down_for=OUTAGE_SECONDS)
            fault_over = time.monotonic()
            canary = _start_job(canary=True)
            canaries.append(canary)
            _wait(group, lambda c=canary: _status(c) == "completed", timeout=120, what="canary")
            rounds.append(Round(number, time.monotonic() - fault_over))
            print(
                f"round {number:2d}: killed {victim.spec.name}, restarted postgres and redis; "
                f"recovered in {rounds[-1].recovery_seconds:.1f}s",
                flush=True,
            )
        drained = _wait(
            group,
            lambda: _count_not_terminal(job_ids + canaries) == 0,
            timeout=args.drain_timeout,
            what=None,
        )
    finally:
        group.stop_all()
        supervisor_log.close()
    report = _report(job_ids + canaries, rounds, drained, time.monotonic() - started, workers)
    if comebacks:
        longest = max(comebacks)
        report += f"  killed worker   answering again {longest:.1f}s after the faults, longest\n"
    print(report, flush=True)
    bad = report.count("FAIL")
    return 1 if bad else 0


def _wait(group: Any, check: Any, *, timeout: float, what: str | None) -> bool:
    """Polls `check` while keeping the supervisor and the sweep going; False on timeout when
    `what` is None, else raises."""
    deadline = time.monotonic() + timeout
    next_sweep = 0.0
    while time.monotonic() < deadline:
        group.check()
        if time.monotonic() >= next_sweep:
            _sweep()
            next_sweep = time.monotonic() + SWEEP_EVERY_SECONDS
        with contextlib.suppress(Exception):  # the database or Redis may be restarting
            if check():
                return True
        time.sleep(0.1)
    if what is None:
        return False
    raise TimeoutError(f"{what}: not within {timeout:.0f}s")


def _sweep() -> None:
    from app.jobs.rescue import sweep_stalled_jobs

    with contextlib.suppress(Exception):  # as Beat's task would: the next one tries again
        sweep_stalled_jobs()


def _workers_answer(count: int) -> bool:
    from app.core.celery_app import celery_app

    return len(celery_app.control.ping(timeout=0.5) or []) >= count


def _start_job(*, canary: bool = False) -> uuid.UUID:
    """Like the API: the row is committed, then published (a failed publish leaves it to the
    sweep). Retries only while PostgreSQL itself does not answer."""
    from app.core.db import session_scope
    from app.jobs import service

    deadline = time.monotonic() + 60
    while True:
        try:
            with session_scope() as session:
                job, _ = service.start_job(
                    session=session,
                    job_type="maintenance",
                    stage="drill_steps",
                    project=None,
                    user=None,
                    config={"steps": 5, "pause": 0.2, "canary": canary},
                )
            return job.id
        except Exception:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _query(sql: str, params: dict[str, Any] | None = None) -> list[Any]:
    import sqlalchemy as sa

    from app.core.db import engine

    with engine.connect() as connection:
        return list(connection.execute(sa.text(sql), params or {}).all())


def _status(job_id: uuid.UUID) -> str | None:
    rows = _query("SELECT status FROM job_runs WHERE id = :id", {"id": job_id})
    return str(rows[0][0]) if rows else None


def _count_not_terminal(job_ids: list[uuid.UUID]) -> int:
    rows = _query(
        "SELECT count(*) FROM job_runs WHERE id = ANY(:ids) "
        "AND status NOT IN ('completed', 'failed', 'cancelled')",
        {"ids": job_ids},
    )
    return int(rows[0][0])


def _report(
    job_ids: list[uuid.UUID], rounds: list[Round], drained: bool, seconds: float, workers: Any
) -> str:
    by_status = dict(
        _query(
            "SELECT status, count(*) FROM job_runs WHERE id = ANY(:ids) GROUP BY status",
            {"ids": job_ids},
        )
    )
    missing = len(job_ids) - sum(by_status.values())
    lost = missing + sum(by_status.get(s, 0) for s in ("queued", "retrying"))
    stuck = sum(count for status, count in by_status.items() if status not in TERMINAL)
    doubled_attempts = _query(
        "SELECT job_id, attempt FROM drill_executions WHERE kind = 'started' "
        "GROUP BY job_id, attempt HAVING count(*) > 1"
    )
    doubled_finishes = _query(
        "SELECT job_id FROM drill_executions WHERE kind = 'finished' "
        "GROUP BY job_id HAVING count(*) > 1"
    )
    doubled = len({row[0] for row in doubled_attempts} | {row[0] for row in doubled_finishes})
    attempts = dict(
        _query(
            "SELECT attempts, count(*) FROM job_runs WHERE id = ANY(:ids) GROUP BY attempts "
            "ORDER BY attempts",
            {"ids": job_ids},
        )
    )
    recoveries = sorted(r.recovery_seconds for r in rounds)
    restarts = sum(worker.restarts for worker in workers)
    out = io.StringIO()
    ok = lambda value: "ok" if value == 0 else "FAIL"  # noqa: E731
    out.write(f"\nfault drill: {len(rounds)} rounds in {seconds:.0f}s\n")
    out.write(f"  jobs            {len(job_ids)} ({len(rounds)} of them canaries)\n")
    out.write(f"  by status       {dict(sorted(by_status.items()))}\n")
    out.write(f"  attempts        {attempts}  (a killed worker's job runs again)\n")
    out.write(f"  worker restarts {restarts} (by the supervisor, after SIGKILL)\n")
    out.write(f"  lost            {lost}  {ok(lost)}\n")
    out.write(f"  doubled         {doubled}  {ok(doubled)}\n")
    out.write(f"  stuck           {stuck}  {ok(stuck)}{'' if drained else ' (drain timed out)'}\n")
    if recoveries:
        median = recoveries[len(recoveries) // 2]
        out.write(
            f"  recovery        longest {recoveries[-1]:.1f}s, median {median:.1f}s "
            "(faults over -> a new job completed)\n"
        )
    return out.getvalue()


if __name__ == "__main__":
    sys.exit(main())
