"""The import job's Celery shell (on the `low` queue, declared in domain.py); the work is in
service.py and ingest.py."""

import uuid
from typing import Any

from app.core.db import session_scope
from app.jobs.errors import PermanentJobError, classify
from app.jobs.runtime import JobContext, tracked_task
from app.links import service
from app.links.domain import LINKS_INGEST_JOB


@tracked_task(
    job_type=LINKS_INGEST_JOB, stage=service.INGEST_STAGE, name="app.links.tasks.ingest_links"
)
def ingest_links(job: JobContext) -> dict[str, Any]:
    import_id = uuid.UUID(str(job.config["import_id"]))

    def progress(done: int, total: int) -> None:
        job.progress(
            pct=100.0 * done / total if total else 100.0,
            current=done,
            total=total,
            message=f"{done:,} of {total:,} bytes read",
        )

    keep_file = False
    try:
        with session_scope() as session:
            return service.run_import(
                session=session, import_id=import_id, job_id=job.job_id, progress=progress
            )
    except service.UploadGoneError as exc:
        raise PermanentJobError(str(exc)) from None
    except BaseException as exc:
        # A transient failure is retried and needs the file; any other end does not.
        keep_file = classify(exc).transient and job.attempt < job.max_attempts
        raise
    finally:
        if not keep_file:
            service.discard_upload(import_id)
