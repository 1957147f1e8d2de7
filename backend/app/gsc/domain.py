"""Google Search Console: per-project property connections, the daily sync of the last days
(02:00 UTC), backfills of up to 16 months, and the reads the dashboard charts."""

from celery.schedules import crontab

from app.core.domains import BeatEntry, Domain, JobTypeSpec, RetentionSpec

GSC_SYNC_JOB = "gsc_sync"
GSC_BACKFILL_JOB = "gsc_backfill"
PROVIDER = "gsc"  # provider_connections.provider

domain = Domain(
    name="gsc",
    models="app.gsc.models",
    tasks="app.gsc.tasks",
    routes="app.gsc.routes",
    schedule={
        "gsc-daily-sync": BeatEntry(
            task="app.gsc.tasks.sync_all_properties", schedule=crontab(hour=2, minute=0)
        ),
    },
    job_types={
        GSC_SYNC_JOB: JobTypeSpec(
            label="Search Console sync", entry_tasks=("app.gsc.tasks.sync_property",)
        ),
        GSC_BACKFILL_JOB: JobTypeSpec(
            label="Search Console backfill", entry_tasks=("app.gsc.tasks.backfill_property",)
        ),
    },
    # Rows, per-day sums and dictionary entries of a property no project reaches any more (its
    # project was deleted); those tables have no foreign key on purpose (storage.py), so this
    # rule removes them.
    retention={"gsc_orphan_rows": RetentionSpec("app.gsc.service.purge_orphan_rows")},
    # The rows and the per-day sums are rewritten for every provisional day a sync sees again.
    large_tables=(
        "gsc_rows",
        "gsc_totals",
        "gsc_query_days",
        "gsc_page_days",
        "gsc_queries",
        "gsc_pages",
    ),
)
