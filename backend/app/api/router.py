"""Mounts every domain's routes under /api/v1."""

from fastapi import APIRouter

from app.audits.routes import router as audits_router
from app.dashboard.routes import router as dashboard_router
from app.health.routes import router as health_router
from app.jobs.routes import router as jobs_router
from app.maintenance.routes import router as maintenance_router
from app.projects.routes import router as projects_router
from app.users.routes import router as users_router

api_router = APIRouter()
# First: GET /jobs/{id} is polled by every open dashboard, and routes match in order.
api_router.include_router(jobs_router)
api_router.include_router(maintenance_router)
api_router.include_router(health_router)
api_router.include_router(users_router)
api_router.include_router(projects_router)
api_router.include_router(audits_router)
api_router.include_router(dashboard_router)
