"""Runtime housekeeping tasks. Not tracked jobs themselves: the sweep runs every minute and
its effects show on the jobs it touches."""

from typing import Any

from app.core.celery_app import celery_app
from app.jobs import rescue


@celery_app.task(name="app.jobs.tasks.rescue_stalled_jobs", ignore_result=True)
def rescue_stalled_jobs() -> dict[str, Any]:
    # The sweep counts what it did itself (rescue_totals, the counters of /metrics).
    return rescue.sweep_stalled_jobs().as_dict()
