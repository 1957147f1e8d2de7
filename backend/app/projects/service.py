"""Projects: one website each, owned by one user."""

import uuid

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core.config import settings
from app.core.db import utcnow
from app.core.pagination import Page, PageRequest, paginate
from app.core.quota import QuotaExceededError
from app.projects.models import Project, ProjectCreate, ProjectPublic, ProjectUpdate
from app.projects.site_url import private_address_warning
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


class AboveCeilingError(ValueError):
    """A project asked for more than the operator allows (MAX_CRAWL_PAGES, MAX_CRAWL_DEPTH)."""


def check_ceilings(*, max_crawl_pages: int | None, max_crawl_depth: int | None) -> None:
    if max_crawl_pages is not None and max_crawl_pages > settings.MAX_CRAWL_PAGES:
        raise AboveCeilingError(
            f"max_crawl_pages may be at most {settings.MAX_CRAWL_PAGES} on this platform"
        )
    if max_crawl_depth is not None and max_crawl_depth > settings.MAX_CRAWL_DEPTH:
        raise AboveCeilingError(
            f"max_crawl_depth may be at most {settings.MAX_CRAWL_DEPTH} on this platform"
        )


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


def saved_project(*, project: Project) -> ProjectPublic:
    """A created or updated project as answered, with a warning when its site resolves to
    an address the crawler will refuse."""
    warning = private_address_warning(
        project.site_url, allow_private=settings.CRAWL_ALLOW_PRIVATE_NETWORKS
    )
    return ProjectPublic.model_validate(project).model_copy(update={"site_warning": warning})


def delete_project(*, session: Session, project: Project) -> None:
    session.delete(project)
    session.commit()


_PROJECTS = "SELECT count(*) FROM projects WHERE owner_id = :user_id"


def check_projects(*, session: Session, user: User) -> None:
    """Raises QuotaExceededError when one more project would pass MAX_PROJECTS_PER_USER."""
    if user.is_superuser:
        return
    limit = settings.MAX_PROJECTS_PER_USER
    row = session.execute(sa.text(_PROJECTS), {"user_id": user.id}).one()
    if row[0] >= limit:
        raise QuotaExceededError(
            f"You have {row[0]} projects, the most one account may have ({limit}); delete one first"
        )
