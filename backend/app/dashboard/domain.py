"""The dashboard's run-time configuration (GET /dashboard/config)."""

from app.core.domains import Domain

domain = Domain(name="dashboard", routes="app.dashboard.routes")
