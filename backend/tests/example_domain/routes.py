from fastapi import APIRouter, status
from sqlmodel import SQLModel

from app.api.deps import CurrentUser, ProjectDep, SessionDep
from app.jobs.models import JobPublic
from tests.example_domain import service

router = APIRouter(tags=["example"])


class WordCountCreate(SQLModel):
    text: str


@router.post(
    "/projects/{project_id}/word-count",
    response_model=JobPublic,
    status_code=status.HTTP_202_ACCEPTED,
)
def start_word_count(
    session: SessionDep, current_user: CurrentUser, project: ProjectDep, body: WordCountCreate
) -> JobPublic:
    job, _ = service.start_word_count(
        session=session, project=project, user=current_user, text=body.text
    )
    return JobPublic.model_validate(job)
