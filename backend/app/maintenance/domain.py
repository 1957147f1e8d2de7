"""Maintenance: the daily retention clean-up, the health check and the weekly database
optimization, as tracked jobs."""

from celery.schedules import crontab

from app.core.domains import BeatEntry, Domain, JobTypeSpec

MAINTENANCE_JOB = "maintenance"
OPTIMIZE_DB_JOB = "optimize_db"

domain = Domain(
    name="maintenance",
    tasks="app.maintenance.tasks",
    routes="app.maintenance.routes",
    # Bulk work: a VACUUM of a large table holds its worker slot for minutes.
    queues={"app.maintenance.tasks.run_optimize_db": "low"},
    schedule={
        "maintenance-health-check": BeatEntry(
            task="app.maintenance.tasks.health_check", schedule=crontab(minute="*/15")
        ),
        "cleanup-old-data": BeatEntry(
            task="app.maintenance.tasks.cleanup_old_data", schedule=crontab(hour=5, minute=0)
        ),
        # Sundays, an hour after the clean-up (whose deletions it reclaims), well after the
        # weekly audits of 01:00 have written their pages.
        "optimize-db-weekly": BeatEntry(
            task="app.maintenance.tasks.optimize_db",
            schedule=crontab(day_of_week=0, hour=6, minute=0),
        ),
    },
    job_types={
        MAINTENANCE_JOB: JobTypeSpec(
            label="Maintenance",
            entry_tasks=(
                "app.maintenance.tasks.run_cleanup",
                "app.maintenance.tasks.run_health_check",
            ),
        ),
        OPTIMIZE_DB_JOB: JobTypeSpec(
            label="Database optimization",
            entry_tasks=("app.maintenance.tasks.run_optimize_db",),
        ),
    },
)
