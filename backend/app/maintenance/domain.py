"""Maintenance: the daily retention clean-up and the health check, as tracked jobs."""

from celery.schedules import crontab

from app.core.domains import BeatEntry, Domain, JobTypeSpec

MAINTENANCE_JOB = "maintenance"

domain = Domain(
    name="maintenance",
    tasks="app.maintenance.tasks",
    routes="app.maintenance.routes",
    schedule={
        "maintenance-health-check": BeatEntry(
            task="app.maintenance.tasks.health_check", schedule=crontab(minute="*/15")
        ),
        "cleanup-old-data": BeatEntry(
            task="app.maintenance.tasks.cleanup_old_data", schedule=crontab(hour=5, minute=0)
        ),
    },
    job_types={
        MAINTENANCE_JOB: JobTypeSpec(
            label="Maintenance",
            entry_tasks=(
                "app.maintenance.tasks.run_cleanup",
                "app.maintenance.tasks.run_health_check",
            ),
        )
    },
)
