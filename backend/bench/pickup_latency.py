"""Pickup latency on an idle worker: from starting a job to its body running, against raw
Celery's publish-to-task-start measured in the same run on the same worker settings.

Two figures: from the start call (for the runtime this includes the row's INSERT and durable
commit), and from the moment the start call returned (delivery and claim only).

Each sample starts one job (or publishes one raw task), waits until the body has recorded
`time.time() - sent_at` in Redis, then pauses, so the worker is idle every time. For the
runtime, `sent_at` is taken before `start_job`, so the figure includes the row's INSERT and
commit, the publish, the delivery and the claim; the database's own `started_at - queued_at`
is reported beside it.

Run from backend/:  uv run python -m bench.pickup_latency [--samples 300] [--rounds 3]
"""

import argparse
import statistics
import time

from bench.job_harness import celery_worker, prepare_database, private_redis


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    variant: str, samples: int, client: "object"
) -> tuple[list[float], list[float], list[float]]:
    import sqlalchemy as sa
    from sqlmodel import Session

    from app.core.db import engine
    from app.jobs import service
    from bench import job_tasks

    redis_client = client  # redis.Redis
    latencies: list[float] = []
    after_return: list[float] = []
    job_ids = []
    for _ in range(samples):
        sent_at = time.time()
        if variant == "raw":
            job_tasks.raw_noop.apply_async(args=(sent_at,))
        else:
            with Session(engine) as session:
                job, _ = service.start_job(
                    session=session,
                    job_type="maintenance",
                    stage="bench_trivial",
                    project=None,
                    user=None,
                    config={"sent_at": sent_at},
                )
            job_ids.append(job.id)
        returned_at = time.time()
        popped = redis_client.blpop([job_tasks.PICKUP_KEY], timeout=30)  # type: ignore[attr-defined]
        if popped is None:
            raise TimeoutError("the body did not run within 30 s")
        latencies.append(float(popped[1]) * 1000)
        # from the start call's return (row committed, message published) to the body
        after_return.append((sent_at + float(popped[1]) - returned_at) * 1000)
        time.sleep(0.02)
    db_latencies: list[float] = []
    if job_ids:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text(
                    "SELECT EXTRACT(EPOCH FROM started_at - queued_at) * 1000 FROM job_runs "
                    "WHERE id = ANY(:ids)"
                ),
                {"ids": job_ids},
            ).scalars()
            db_latencies = [float(value) for value in rows]
    return latencies, db_latencies, after_return


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    prepare_database()
    results: dict[str, list[tuple[float, float]]] = {
        name: [] for name in ("raw", "runtime", "runtime_db", "raw_after", "runtime_after")
    }
    with private_redis() as client, celery_worker(concurrency=2):
        measure("raw", 20, client)  # warm-up: connections, prepared statements
        measure("runtime", 20, client)
        for round_number in range(1, args.rounds + 1):
            for variant in ("raw", "runtime"):
                latencies, db_latencies, after = measure(variant, args.samples, client)
                summary = (statistics.median(latencies), percentile(latencies, 0.99))
                results[variant].append(summary)
                results[f"{variant}_after"].append(
                    (statistics.median(after), percentile(after, 0.99))
                )
                line = (
                    f"round {round_number} {variant:8} "
                    f"p50 {summary[0]:6.2f} ms  p99 {summary[1]:6.2f} ms"
                )
                if db_latencies:
                    db = (statistics.median(db_latencies), percentile(db_latencies, 0.99))
                    results["runtime_db"].append(db)
                    line += (
                        f"   (database started_at - queued_at: "
                        f"p50 {db[0]:.2f} ms, p99 {db[1]:.2f} ms)"
                    )
                print(line, flush=True)
    print(f"\nmedians over {args.rounds} rounds of {args.samples} samples (idle worker, prefork 2)")
    print("  start call -> body running (runtime: INSERT + commit + publish + claim):")
    for variant in ("raw", "runtime", "runtime_db"):
        p50 = statistics.median(r[0] for r in results[variant])
        p99 = statistics.median(r[1] for r in results[variant])
        print(f"  {variant:10} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    print("  start call returned -> body running (delivery + claim only):")
    for variant in ("raw_after", "runtime_after"):
        p50 = statistics.median(r[0] for r in results[variant])
        p99 = statistics.median(r[1] for r in results[variant])
        print(f"  {variant:13} p50 {p50:6.2f} ms  p99 {p99:6.2f} ms")
    raw50 = statistics.median(r[0] for r in results["raw"])
    raw99 = statistics.median(r[1] for r in results["raw"])
    run50 = statistics.median(r[0] for r in results["runtime"])
    run99 = statistics.median(r[1] for r in results["runtime"])
    print(f"  runtime / raw: p50 {run50 / raw50:.2f}x, p99 {run99 / raw99:.2f}x")


if __name__ == "__main__":
    main()
