"""Who may see a project, and with it everything that belongs to a project (its jobs, audits,
synced data): the project's owner, and superusers. A row without a project (maintenance,
platform-wide jobs) is visible to superusers only.

The rule is written here once, in the two forms the code needs:
- `visible_project(user, project_id)`: an ORM clause on any column holding a project id;
- `visible_project_sql(project_id, user_id=, superuser=)`: the same as a SQL fragment, for the
  statements written in SQL (the job-status poll, the active jobs of stats).
Rollups (app.jobs.rollups) keep their totals by the same rule: per project, per owner, and
for everything; `visible_scope(user)` names the one a user reads.

Both are a semi-join on the project's primary key (EXISTS ... projects.id = <column> AND
owner_id = <user>), which the planner can drive from either side: from the user's projects
(ix_projects_owner_id) into a table's (project_id, ...) index, or from a table's rows into the
projects' primary key. For a known superuser the ORM form is no clause at all, so their
statements plan without it.
"""

import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, aliased
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col, select

from app.projects.models import Project
from app.users.models import User


def visible_project(
    user: User, project_id: ColumnElement[Any] | Mapped[Any]
) -> ColumnElement[bool]:
    """WHERE clause: the row whose project is `project_id` is visible to `user`."""
    if user.is_superuser:
        return sa.true()
    # An alias, so the rule applied to projects itself stays correlated to the outer row.
    owned = aliased(Project, name="visible_project")
    return (
        select(owned.id).where(col(owned.id) == project_id, col(owned.owner_id) == user.id).exists()
    )


def visible_project_sql(project_id: str, *, user_id: str, superuser: str) -> str:
    """The SQL form of `visible_project`, over SQL expressions: `project_id` (a column),
    `user_id` (a column or a bound parameter) and `superuser` (a boolean column, parameter
    or literal). With the literal `true` or `false` the planner drops the dead branch."""
    # Composed of SQL expressions of our own statements, never of input.
    return (
        f"({superuser} OR EXISTS (SELECT 1 FROM projects AS visible_project"  # noqa: S608
        f" WHERE visible_project.id = {project_id} AND visible_project.owner_id = {user_id}))"
    )


# The scope id of rollups kept for the whole platform (what superusers see).
EVERYTHING = uuid.UUID(int=0)


def visible_scope(user: User) -> tuple[str, uuid.UUID]:
    """The rollup scope of everything `user` may see: all for superusers, else what they own."""
    return ("all", EVERYTHING) if user.is_superuser else ("owner", user.id)


def superuser_literal(user: User) -> str:
    """`user.is_superuser` as a SQL literal for `visible_project_sql`."""
    return "true" if user.is_superuser else "false"
