"""The fault drill's job (loaded by its workers with `--include bench.fault_tasks`).

Each execution writes a row when it starts and when its body is done, keyed by job, attempt,
kind and process, through the runtime's own store (so the writes wait out a PostgreSQL
restart like the job's transitions do). A write repeated after a dropped connection lands
once (ON CONFLICT DO NOTHING); a second execution of the same attempt, which the claim must
make impossible, shows as a second row from another process.
"""

import os
import time
from typing import Any

import psycopg

from app.jobs.runtime import JobContext, tracked_task

EXECUTIONS_DDL = """
CREATE TABLE IF NOT EXISTS drill_executions (
    job_id uuid NOT NULL,
    attempt int NOT NULL,
    kind text NOT NULL,
    pid int NOT NULL,
    at timestamptz NOT NULL DEFAULT clock_timestamp(),
    UNIQUE (job_id, attempt, kind, pid)
)
"""


def _record(connection: psycopg.Connection[Any], *, job_id: str, attempt: int, kind: str) -> None:
    connection.execute(
        "INSERT INTO drill_executions (job_id, attempt, kind, pid) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT DO NOTHING",
        (job_id, attempt, kind, os.getpid()),
    )


@tracked_task(job_type="maintenance", stage="drill_steps", name="bench.drill_steps")
def drill_steps(job: JobContext) -> dict[str, Any]:
    record = {"job_id": str(job.job_id), "attempt": job.attempt}
    job._store.call(_record, kind="started", **record)
    steps = int(job.config.get("steps", 5))
    pause = float(job.config.get("pause", 0.2))
    for done in range(1, steps + 1):
        time.sleep(pause)  # stands for waiting on a remote site
        job.progress(pct=100 * done / steps, current=done, total=steps)
    job._store.call(_record, kind="finished", **record)
    return {"steps": steps}
