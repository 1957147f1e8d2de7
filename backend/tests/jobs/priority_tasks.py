"""A job body for the priority and fairness tests (`-I tests.jobs.priority_tasks`): sleeps
`seconds` (default 0.2), standing for a short job that keeps its worker slot busy."""

import time
from typing import Any

from app.jobs.runtime import JobContext, tracked_task


@tracked_task(job_type="maintenance", stage="test_sleep", name="tests.priority_sleep")
def sleep(job: JobContext) -> dict[str, Any]:
    time.sleep(float(job.config.get("seconds", 0.2)))
    return {}
