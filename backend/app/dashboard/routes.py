"""`GET /dashboard/config`: the deployment's settings the dashboard shows, read at run time,
so one dashboard build serves any deployment (and `seo-platform up` on any ports)."""

from fastapi import APIRouter
from sqlmodel import SQLModel

from app.core.config import settings

router = APIRouter(prefix="/dashboard", tags=["dashboard"])


class DashboardConfigPublic(SQLModel):
    flower_url: str


@router.get("/config", response_model=DashboardConfigPublic)
async def read_dashboard_config() -> DashboardConfigPublic:
    """Where the dashboard links to: Flower's public address (FLOWER_URL). Public, like the
    dashboard's own files: it holds no secret."""
    return DashboardConfigPublic(flower_url=settings.FLOWER_URL.rstrip("/"))
