"""Interactive jobs behind a scheduled backlog, with priorities on and off.

Each round queues BACKLOG scheduled no-op-plus-sleep jobs, starts a 2-process worker, then
starts INTERACTIVE interactive jobs (the same sleep) at random moments (the same moments
for both variants of a round) while the backlog drains. Reported per variant: the
interactive jobs' queued -> running latency (p50, p95, from the rows' started_at -
queued_at), the longest single job, and the throughput of the whole run (jobs / (last
finished - first started)). Priorities off = JOB_PRIORITIES_ENABLED=false in the publisher
and the worker: every message at one priority, first come, first served.

Target: interactive p95 <= the longest single job + 1 s; throughput within 5 % of off.

Run from backend/:  uv run python -m bench.priorities [--rounds 3] [--backlog 500]
    [--interactive 20] [--sleep 0.1]
"""

import argparse
import os
import random
import statistics
import threading
import time
from dataclasses import dataclass

from bench.job_harness import celery_worker, prepare_database, private_redis


@dataclass
class Result:
    p50: float
    p95: float
    longest_job: float
    throughput: float


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run(*, enabled: bool, backlog: int, interactive: int, sleep: float, seed: int) -> Result:
    import sqlalchemy as sa
    from sqlmodel import Session

    from app.core.config import settings
    from app.core.db import engine
    from app.jobs import service
    from app.jobs.models import JobPriority
    from bench import priority_tasks  # noqa: F401 - registers the stage

    settings.JOB_PRIORITIES_ENABLED = enabled
    os.environ["JOB_PRIORITIES_ENABLED"] = "true" if enabled else "false"
    with engine.begin() as connection:
        connection.execute(sa.text("TRUNCATE job_runs CASCADE"))

    def start(priority: JobPriority) -> None:
        with Session(engine) as session:
            service.start_job(
                session=session,
                job_type="maintenance",
                stage="bench_sleep",
                project=None,
                user=None,
                priority=priority,
                config={"seconds": sleep},
            )

    for _ in range(backlog):
        start(JobPriority.scheduled)
    # The interactive jobs arrive at random moments over most of the backlog's run time.
    drain = backlog * sleep / 2
    moments = sorted(random.Random(seed).uniform(0, 0.8 * drain) for _ in range(interactive))
    with celery_worker(concurrency=2, include="bench.priority_tasks"):
        began = time.monotonic()

        def click() -> None:
            for moment in moments:
                time.sleep(max(0.0, began + moment - time.monotonic()))
                start(JobPriority.interactive)

        clicker = threading.Thread(target=click)
        clicker.start()
        clicker.join()
        deadline = time.monotonic() + 10 * drain + 60
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                left = connection.execute(
                    sa.text("SELECT count(*) FROM job_runs WHERE status <> 'completed'")
                ).scalar_one()
            if not left:
                break
            time.sleep(0.2)
        else:
            raise TimeoutError("the backlog did not drain")
    with engine.connect() as connection:
        waits = [
            float(value)
            for value in connection.execute(
                sa.text(
                    "SELECT extract(epoch FROM started_at - queued_at) FROM job_runs "
                    "WHERE priority = 'interactive'"
                )
            ).scalars()
        ]
        longest, span, jobs = connection.execute(
            sa.text(
                "SELECT max(extract(epoch FROM finished_at - started_at)), "
                "extract(epoch FROM max(finished_at) - min(started_at)), count(*) FROM job_runs"
            )
        ).one()
    return Result(
        p50=statistics.median(waits),
        p95=percentile(waits, 0.95),
        longest_job=float(longest),
        throughput=int(jobs) / float(span),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backlog", type=int, default=500)
    parser.add_argument("--interactive", type=int, default=20)
    parser.add_argument("--sleep", type=float, default=0.1, help="seconds each job sleeps")
    args = parser.parse_args()

    prepare_database()
    results: dict[str, list[Result]] = {"on": [], "off": []}
    with private_redis():
        for round_number in range(1, args.rounds + 1):
            # Alternated, so neither variant always runs on a warmer machine.
            order = ("on", "off") if round_number % 2 else ("off", "on")
            for variant in order:
                result = run(
                    enabled=variant == "on",
                    backlog=args.backlog,
                    interactive=args.interactive,
                    sleep=args.sleep,
                    seed=round_number,
                )
                results[variant].append(result)
                print(
                    f"round {round_number} priorities {variant:3}  interactive queued->running "
                    f"p50 {result.p50:7.3f} s  p95 {result.p95:7.3f} s   longest job "
                    f"{result.longest_job:6.3f} s   throughput {result.throughput:6.2f} jobs/s",
                    flush=True,
                )
    print(
        f"\nmedians over {args.rounds} rounds: {args.backlog} scheduled + {args.interactive} "
        f"interactive jobs of {args.sleep} s sleep, prefork 2"
    )
    medians = {}
    for variant, rounds in results.items():
        medians[variant] = Result(
            p50=statistics.median(r.p50 for r in rounds),
            p95=statistics.median(r.p95 for r in rounds),
            longest_job=statistics.median(r.longest_job for r in rounds),
            throughput=statistics.median(r.throughput for r in rounds),
        )
        m = medians[variant]
        print(
            f"  priorities {variant:3}  p50 {m.p50:7.3f} s  p95 {m.p95:7.3f} s  longest job "
            f"{m.longest_job:6.3f} s  throughput {m.throughput:6.2f} jobs/s"
        )
    on, off = medians["on"], medians["off"]
    print(
        f"  target p95 <= longest job + 1 s: {on.p95:.3f} <= {on.longest_job + 1:.3f} "
        f"({'met' if on.p95 <= on.longest_job + 1 else 'MISSED'})"
    )
    ratio = on.throughput / off.throughput
    print(
        f"  throughput on / off: {ratio:.3f} "
        f"({'within 5 %' if ratio >= 0.95 else 'MORE than 5 % slower'})"
    )


if __name__ == "__main__":
    main()
