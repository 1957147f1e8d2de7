from fastapi import APIRouter, HTTPException, Response, status

from app.api.deps import CurrentUser, PageDep, ProjectDep, SessionDep
from app.projects import service
from app.projects.models import ProjectCreate, ProjectPublic, ProjectsPublic, ProjectUpdate

router = APIRouter(prefix="/projects", tags=["projects"])


def _within_ceilings(project_in: ProjectCreate | ProjectUpdate) -> None:
    try:
        service.check_ceilings(
            max_crawl_pages=project_in.max_crawl_pages, max_crawl_depth=project_in.max_crawl_depth
        )
    except service.AboveCeilingError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, detail=str(exc)) from None


@router.get("", response_model=ProjectsPublic)
def list_projects(session: SessionDep, current_user: CurrentUser, page: PageDep) -> ProjectsPublic:
    found = service.list_projects(session=session, user=current_user, page=page)
    return ProjectsPublic(
        data=[ProjectPublic.model_validate(p) for p in found.rows], **found.public()
    )


@router.post("", response_model=ProjectPublic, status_code=status.HTTP_201_CREATED)
def create_project(
    session: SessionDep, current_user: CurrentUser, project_in: ProjectCreate
) -> object:
    _within_ceilings(project_in)
    service.check_projects(session=session, user=current_user)
    project = service.create_project(session=session, owner=current_user, project_in=project_in)
    return service.saved_project(project=project)


@router.get("/{project_id}", response_model=ProjectPublic)
def read_project(project: ProjectDep) -> object:
    return project


@router.patch("/{project_id}", response_model=ProjectPublic)
def update_project(session: SessionDep, project: ProjectDep, project_in: ProjectUpdate) -> object:
    _within_ceilings(project_in)
    updated = service.update_project(session=session, project=project, project_in=project_in)
    return service.saved_project(project=updated)


@router.delete("/{project_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_project(session: SessionDep, project: ProjectDep) -> Response:
    service.delete_project(session=session, project=project)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
