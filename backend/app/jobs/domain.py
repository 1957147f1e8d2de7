"""The job runtime as a domain: the job_runs table, the rescue sweep (every minute), /jobs, the
job_events outbox of terminal transitions."""

from app.core.domains import BeatEntry, Domain, RetentionSpec

domain = Domain(
    name="jobs",
    models="app.jobs.models",
    tasks="app.jobs.tasks",
    routes="app.jobs.routes",
    retention={"job_events": RetentionSpec("app.jobs.service.purge_old_job_events")},
    # Every job updates its row a few times and the clean-up deletes old ones; the outbox
    # is written and purged all day.
    large_tables=("job_runs", "job_events"),
    schedule={
        "rescue-stalled-jobs": BeatEntry(
            task="app.jobs.tasks.rescue_stalled_jobs",
            schedule=60.0,
            # A sweep that waited longer than a minute is superseded by the next one.
            options={"expires": 55},
        ),
    },
)
