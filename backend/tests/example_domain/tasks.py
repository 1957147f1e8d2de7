"""The example's tasks: the tracked job body and the Beat entry point."""

from typing import Any

from app.core.celery_app import celery_app
from app.core.db import session_scope
from app.jobs.runtime import JobContext, tracked_task
from tests.example_domain import service
from tests.example_domain.domain import EXAMPLE_JOB


@tracked_task(
    job_type=EXAMPLE_JOB,
    stage=service.COUNT_STAGE,
    name="tests.example_domain.tasks.count_words",
)
def count_words(job: JobContext) -> dict[str, Any]:
    words = str(job.config["text"]).split()
    job.progress(pct=100, current=len(words), total=len(words), message="counted")
    return {"words": len(words)}


@celery_app.task(name="tests.example_domain.tasks.start_nightly_count", ignore_result=True)
def start_nightly_count() -> str:
    with session_scope() as session:
        job, _ = service.start_word_count(
            session=session, project=None, user=None, text=service.NIGHTLY_TEXT
        )
    return str(job.id)
