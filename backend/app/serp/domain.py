"""Rank tracking: keywords per project, checked daily (03:00 UTC) or on demand through
SerpApi or DataForSEO, one snapshot per keyword per day, kept SERP_SNAPSHOT_RETENTION_DAYS."""

from celery.schedules import crontab

from app.core.domains import BeatEntry, Domain, JobTypeSpec, RetentionSpec

SERP_REFRESH_JOB = "serp_refresh"
PROVIDER = "serp"  # provider_connections.provider; its target names serpapi or dataforseo

domain = Domain(
    name="serp",
    models="app.serp.models",
    tasks="app.serp.tasks",
    routes="app.serp.routes",
    schedule={
        "serp-daily-refresh": BeatEntry(
            task="app.serp.tasks.refresh_all_due_keywords", schedule=crontab(hour=3, minute=0)
        ),
    },
    job_types={
        SERP_REFRESH_JOB: JobTypeSpec(
            label="Rank refresh", entry_tasks=("app.serp.tasks.refresh_keywords",)
        ),
    },
    retention={
        "serp_snapshots": RetentionSpec("app.serp.service.purge_old_snapshots"),
        "serp_rank_changes": RetentionSpec("app.serp.service.purge_old_rank_changes"),
    },
    large_tables=("serp_snapshots", "serp_rank_changes"),
)
