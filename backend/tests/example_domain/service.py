"""Starting word counts: for a project (from the API) or the nightly one (from Beat)."""

from sqlmodel import Session

from app.jobs import service as jobs_service
from app.jobs.models import JobRun
from app.projects.models import Project
from app.users.models import User
from tests.example_domain.domain import EXAMPLE_JOB

COUNT_STAGE = "count"
NIGHTLY_TEXT = "the nightly count"


def start_word_count(
    *, session: Session, project: Project | None, user: User | None, text: str
) -> tuple[JobRun, bool]:
    """One active count per project; the nightly one (no project) once a day."""
    return jobs_service.start_job(
        session=session,
        job_type=EXAMPLE_JOB,
        stage=COUNT_STAGE,
        project=project,
        user=user,
        config={"text": text},
        dedupe_key=jobs_service.day_dedupe_key(EXAMPLE_JOB, "nightly")
        if project is None
        else f"{EXAMPLE_JOB}:{project.id}",
        once=project is None,
    )
