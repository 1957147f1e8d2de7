"""Site audits: crawl, render (on the `render` queue), analyze; weekly audits on Sundays."""

from celery.schedules import crontab

from app.core.domains import BeatEntry, Domain, JobTypeSpec

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
    retention={"audit_runs": "app.audits.service.purge_old_audits"},
    job_types={AUDIT_JOB: JobTypeSpec(label="Audit", entry_tasks=("app.audits.tasks.crawl_site",))},
)
