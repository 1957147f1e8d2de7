"""Runtime housekeeping tasks. Not tracked jobs themselves: the sweep runs every minute and
its effects show on the jobs it touches."""

from typing import Any

from app.core.celery_app import celery_app
from app.jobs import exporter, rescue


@celery_app.task(name="app.jobs.tasks.rescue_stalled_jobs", ignore_result=True)
def rescue_stalled_jobs() -> dict[str, Any]:
    report = rescue.sweep_stalled_jobs().as_dict()
    exporter.record_sweep(report)  # the rescue counters of /metrics
    return report
