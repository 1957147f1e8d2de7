"""The job body of bench/priorities.py: a no-op that sleeps `seconds` (a short job holding
its worker slot). Loaded by the benchmark's worker (`-I bench.priority_tasks`)."""

import time
from typing import Any

from app.jobs.runtime import JobContext, tracked_task


@tracked_task(job_type="maintenance", stage="bench_sleep", name="bench.priority_sleep")
def sleep(job: JobContext) -> dict[str, Any]:
    time.sleep(float(job.config.get("seconds", 0.05)))
    return {}
