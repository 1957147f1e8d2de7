"""What the outbox row costs a terminal transition: the completion statement as it was (a
bare UPDATE ... RETURNING) against the one the runtime runs now (the same UPDATE in a CTE
that appends the job_events row), on one connection like the worker's (autocommit,
synchronous commit: a terminal transition waits for the WAL flush), in interleaved blocks so
both see the same machine. Reports the median and mean time per statement of each.

Run from backend/:  uv run python -m bench.job_events_cost [--jobs 4000] [--block 250]
"""

import argparse
import statistics
import time
import uuid

from bench.job_harness import BENCH_DATABASE_URL, prepare_database


def bare_statement(with_event: str) -> str:
    """The runtime's completion without its outbox row: the CTE's UPDATE on its own, with
    the RETURNING it had before (main at 8a66e17)."""
    update = with_event.split("WITH done AS (", 1)[1].split(" RETURNING ", 1)[0]
    return update + " RETURNING finished_at - started_at"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--block", type=int, default=250)
    args = parser.parse_args()

    import psycopg
    from psycopg.types.json import Jsonb

    from app.core.db import libpq_dsn
    from app.jobs import transitions

    prepare_database()
    dsn = libpq_dsn(BENCH_DATABASE_URL)
    with psycopg.connect(dsn, autocommit=True) as connection:
        ids = [uuid.uuid4() for _ in range(args.jobs)]
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO job_runs (id, job_type, status, stage, queue, progress_pct, attempts,"
                " max_attempts, queued_at, started_at, updated_at, config_json)"
                " VALUES (%s, 'maintenance', 'running', 'bench', 'default', 0, 1, 1, now(),"
                " now(), now(), '{}')",
                [(job_id,) for job_id in ids],
            )
        bare = bare_statement(transitions._COMPLETE)
        params = {"attempt": 1, "result": Jsonb({}), **transitions.NO_PROGRESS.params()}
        timings: dict[str, list[float]] = {"bare UPDATE": [], "with job_events row": []}
        for start in range(0, len(ids), args.block):
            block = ids[start : start + args.block]
            variant = "bare UPDATE" if (start // args.block) % 2 == 0 else "with job_events row"
            for job_id in block:
                began = time.perf_counter()
                if variant == "bare UPDATE":
                    row = connection.execute(bare, {**params, "id": job_id}).fetchone()
                else:
                    row = transitions.complete(connection, job_id=str(job_id), attempt=1, result={})
                timings[variant].append(time.perf_counter() - began)
                assert row is not None
        events = connection.execute("SELECT count(*) FROM job_events").fetchone()
    print(f"{args.jobs} completions in blocks of {args.block}, alternating")
    for variant, values in timings.items():
        print(
            f"  {variant:20} median {statistics.median(values) * 1e6:7.0f} us"
            f"  mean {statistics.fmean(values) * 1e6:7.0f} us"
        )
    ratio = statistics.median(timings["with job_events row"]) / statistics.median(
        timings["bare UPDATE"]
    )
    print(f"  with / bare (medians): {ratio:.2f}; job_events rows written: {events and events[0]}")


if __name__ == "__main__":
    main()
