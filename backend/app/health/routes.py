from datetime import datetime

from fastapi import APIRouter, Request, Response, status
from sqlmodel import SQLModel

from app.api.deps import CallerIsSuperuser
from app.health import service

router = APIRouter(prefix="/health", tags=["health"])


class ComponentPublic(SQLModel):
    ok: bool
    detail: str


class ReadinessPublic(SQLModel):
    status: str
    database: ComponentPublic
    redis: ComponentPublic
    workers: ComponentPublic
    worker_names: list[str]  # only for a superuser's token; empty otherwise
    checked_at: datetime  # when the (briefly cached) check ran


class LivenessPublic(SQLModel):
    status: str


@router.get("", response_model=LivenessPublic)
async def liveness() -> LivenessPublic:
    return LivenessPublic(status="ok")


@router.get(
    "/ready",
    response_model=ReadinessPublic,
    responses={503: {"model": ReadinessPublic, "description": "a component is down"}},
)
async def readiness(
    request: Request, response: Response, superuser: CallerIsSuperuser
) -> ReadinessPublic:
    """Database, Redis and workers, from a check at most HEALTH_CACHE_SECONDS old. Worker
    host names only with a superuser's token."""
    cache: service.ReadinessCache = request.app.state.readiness
    found = await cache.get()
    if not found.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return ReadinessPublic(
        status="ok" if found.ready else "unavailable",
        database=ComponentPublic(ok=found.database.ok, detail=found.database.detail),
        redis=ComponentPublic(ok=found.redis.ok, detail=found.redis.detail),
        workers=ComponentPublic(ok=found.workers.ok, detail=found.workers.detail),
        worker_names=found.worker_names if superuser else [],
        checked_at=found.checked_at,
    )
