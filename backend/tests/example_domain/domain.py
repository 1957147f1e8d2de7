"""What the example domain plugs in: a job type, its task (on the `low` queue), a nightly
Beat entry and its routes."""

from celery.schedules import crontab

from app.core.domains import BeatEntry, Domain, JobTypeSpec

EXAMPLE_JOB = "example"

domain = Domain(
    name="example",
    tasks="tests.example_domain.tasks",
    routes="tests.example_domain.routes",
    queues={"tests.example_domain.tasks.count_words": "low"},
    schedule={
        "example-nightly": BeatEntry(
            task="tests.example_domain.tasks.start_nightly_count",
            schedule=crontab(hour=6, minute=0),
        ),
    },
    job_types={
        EXAMPLE_JOB: JobTypeSpec(
            label="Word count", entry_tasks=("tests.example_domain.tasks.count_words",)
        )
    },
)
