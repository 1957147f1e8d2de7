"""Projects: one website each, owned by one user."""

import uuid

from sqlmodel import Session, col, select

from app.core.db import utcnow
from app.core.pagination import Page, PageRequest, paginate
from app.projects.models import Project, ProjectCreate, ProjectUpdate
from app.projects.visibility import visible_project
from app.users.models import User


def get_project_for_user(*, session: Session, project_id: uuid.UUID, user: User) -> Project | None:
    """The project, or None when it does not exist or `user` may not see it (same answer)."""
    return session.exec(
        select(Project).where(col(Project.id) == project_id, visible_project(user, col(Project.id)))
    ).first()


def list_projects(*, session: Session, user: User, page: PageRequest) -> Page[Project]:
    statement = (
        select(Project)
        .where(visible_project(user, col(Project.id)))
        .order_by(col(Project.created_at).desc(), col(Project.id))
    )
    return paginate(session, statement, page)


def create_project(*, session: Session, owner: User, project_in: ProjectCreate) -> Project:
    project = Project.model_validate(project_in, update={"owner_id": owner.id})
    session.add(project)
    session.commit()
    session.refresh(project)
    return project


_ALWAYS_SET_FLAGS = ("render_enabled", "weekly_audit_enabled", "include_subdomains")


def update_project(*, session: Session, project: Project, project_in: ProjectUpdate) -> Project:
    changes = project_in.model_dump(exclude_unset=True)
    # null means "no change" for the settings that always have a value; for the limits it
    # means "the operator's default".
    for required in ("name", "site_url", *_ALWAYS_SET_FLAGS):
        if required in changes and changes[required] is None:
            del changes[required]
    project.sqlmodel_update(changes)
    project.updated_at = utcnow()
    session.add(project)
    session.commit()
    session.refresh(project)
    return project


def delete_project(*, session: Session, project: Project) -> None:
    session.delete(project)
    session.commit()
