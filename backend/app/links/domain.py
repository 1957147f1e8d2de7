"""Backlinks: CSV imports run on the `low` queue (bulk work never delays interactive jobs)."""

from app.core.domains import Domain, JobTypeSpec, RetentionSpec

LINKS_INGEST_JOB = "links_ingest"

domain = Domain(
    name="links",
    models="app.links.models",
    tasks="app.links.tasks",
    routes="app.links.routes",
    queues={"app.links.tasks.*": "low"},
    # backlinks has no foreign key to projects (models.Backlink): a deleted project's rows go
    # in the daily clean-up.
    retention={
        "orphan_backlinks": RetentionSpec("app.links.service.purge_orphan_backlinks"),
        "stale_link_uploads": RetentionSpec("app.links.service.purge_stale_uploads"),
    },
    large_tables=("backlinks",),
    job_types={
        LINKS_INGEST_JOB: JobTypeSpec(
            label="Backlink import", entry_tasks=("app.links.tasks.ingest_links",)
        )
    },
)
