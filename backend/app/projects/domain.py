"""Projects (one website each): the projects table and /projects."""

from app.core.domains import Domain

domain = Domain(name="projects", models="app.projects.models", routes="app.projects.routes")
