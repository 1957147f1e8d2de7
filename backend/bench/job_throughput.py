"""Job throughput: N jobs with a trivial body, started and run end to end until all are
`completed` in the database, against two baselines measured in the same run:

- raw Celery: N no-op tasks (ignore_result), until the queue is drained and all acked;
- the seed's design: ORM session per lifecycle event and per progress call.

Same broker (a private redis-server, so INFO commandstats counts only this run), same worker
settings (prefork 2, prefetch 1, acks_late: app.core.celery_app), and the same producers:
`--producers` threads of this process (as an API serves concurrent requests) start the jobs
while the worker drains them; the clock runs from the first start to the last completion.
Reports median jobs/s of several rounds, the ratios,
SQL statements and commits per job (SQLAlchemy events in the worker and in the producer),
and Redis commands per job.

Run from backend/:  uv run python -m bench.job_throughput [--jobs 5000] [--rounds 3]
"""

import argparse
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench import job_harness
from bench.job_harness import celery_worker, prepare_database, private_redis, redis_commands


@dataclass
class Run:
    seconds: float
    statements: float
    commits: float
    redis_commands: float


def _wait(done: Callable[[], bool], timeout: float) -> int:
    polls = 0
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        polls += 1
        if done():
            return polls
        time.sleep(0.01)
    raise TimeoutError("the jobs did not finish in time")


def run_variant(
    variant: str,
    jobs: int,
    client: "job_harness.redis.Redis",  # type: ignore[type-arg]
    producers: int,
) -> Run:
    from sqlmodel import Session

    from app.core.db import engine
    from app.jobs import service
    from bench import job_tasks

    job_tasks.reset_jobs()
    client.delete(job_tasks.SQL_COUNTS_KEY)
    with celery_worker(concurrency=2):
        job_tasks.sql_counts.clear()
        commands_before = redis_commands(client)
        started = time.perf_counter()

        def start_one(_: int) -> None:
            if variant == "raw":
                job_tasks.raw_noop.apply_async()
                return
            with Session(engine) as session:
                if variant == "runtime":
                    service.start_job(
                        session=session,
                        job_type="maintenance",
                        stage="bench_trivial",
                        project=None,
                        user=None,
                    )
                else:
                    job_tasks.seed_start(session)

        with ThreadPoolExecutor(producers) as pool:
            list(pool.map(start_one, range(jobs)))
        if variant == "raw":
            zero_streak = 0

            def drained() -> bool:
                nonlocal zero_streak
                pipe = client.pipeline(transaction=False)
                pipe.llen("default")
                pipe.hlen("unacked")
                queued, unacked = pipe.execute()
                zero_streak = zero_streak + 1 if queued == 0 and unacked == 0 else 0
                return zero_streak >= 3

            polls = _wait(drained, timeout=900)
            poll_commands, poll_statements = 2 * polls, 0
        else:
            # Every row exists once the producers returned: done when none is active.
            polls = _wait(lambda: not job_tasks.any_job_active(), timeout=900)
            poll_commands, poll_statements = 0, polls + 1  # + the check below
        seconds = time.perf_counter() - started
        if variant != "raw" and (completed := job_tasks.completed_count()) != jobs:
            raise RuntimeError(f"{jobs - completed} of {jobs} jobs did not complete")
        commands = redis_commands(client) - commands_before - poll_commands - 1
    job_tasks.flush_sql_counts(client)  # this process's; the worker's children flushed at exit
    counts = {k.decode(): int(v) for k, v in client.hgetall(job_tasks.SQL_COUNTS_KEY).items()}
    statements = counts.get("statements", 0) - poll_statements
    return Run(seconds, statements / jobs, counts.get("commits", 0) / jobs, commands / jobs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--producers", type=int, default=4)
    args = parser.parse_args()

    prepare_database()
    variants = ("raw", "runtime", "seed")
    runs: dict[str, list[Run]] = {variant: [] for variant in variants}
    with private_redis() as client:
        for round_number in range(1, args.rounds + 1):
            for variant in variants:
                run = run_variant(variant, args.jobs, client, args.producers)
                runs[variant].append(run)
                print(
                    f"round {round_number} {variant:8} {args.jobs / run.seconds:7.1f} jobs/s "
                    f"({run.seconds:.2f} s)  sql/job {run.statements:5.2f}  "
                    f"commits/job {run.commits:4.2f}  redis cmds/job {run.redis_commands:5.2f}",
                    flush=True,
                )
    rate = {v: statistics.median(args.jobs / r.seconds for r in runs[v]) for v in variants}
    print(
        f"\nmedians over {args.rounds} rounds of {args.jobs} jobs "
        f"(prefork 2, prefetch 1, acks_late, {args.producers} producer threads)"
    )
    for variant in variants:
        sample = runs[variant]
        print(
            f"  {variant:8} {rate[variant]:7.1f} jobs/s  {rate[variant] / rate['raw']:6.1%} of raw"
            f"  sql/job {statistics.median(r.statements for r in sample):5.2f}"
            f"  commits/job {statistics.median(r.commits for r in sample):4.2f}"
            f"  redis cmds/job {statistics.median(r.redis_commands for r in sample):5.2f}"
        )
    print(f"  runtime / seed design: {rate['runtime'] / rate['seed']:.2f}x")
    # Each round runs the variants back to back, so a round's ratio shares the machine's
    # conditions of the moment: steadier than the ratio of medians on a noisy host.
    round_ratios = [
        raw.seconds / runtime.seconds
        for raw, runtime in zip(runs["raw"], runs["runtime"], strict=True)
    ]
    print(
        "  runtime / raw per round: "
        + ", ".join(f"{ratio:.1%}" for ratio in round_ratios)
        + f"; median {statistics.median(round_ratios):.1%}"
    )


if __name__ == "__main__":
    main()
