"""Site audits: crawl, render (on the `render` queue), analyze; weekly audits on Sundays."""

from celery.schedules import crontab

from app.core.domains import BeatEntry, Domain, JobTypeSpec, RetentionSpec

AUDIT_JOB = "audit"

domain = Domain(
    name="audits",
    models="app.audits.models",
    tasks="app.audits.tasks",
    routes="app.audits.routes",
    queues={"app.audits.tasks.render_pages": "render"},
    schedule={
        "audit-weekly": BeatEntry(
            task="app.audits.tasks.run_scheduled_audits",
            schedule=crontab(day_of_week=0, hour=1, minute=0),
        ),
    },
    # An audit holds thousands of rows (pages, links and issues cascade): a few per batch.
    retention={"audit_runs": RetentionSpec("app.audits.service.purge_old_audits", batch=5)},
    large_tables=("audit_pages", "audit_links", "audit_issues"),
    job_types={AUDIT_JOB: JobTypeSpec(label="Audit", entry_tasks=("app.audits.tasks.crawl_site",))},
)
