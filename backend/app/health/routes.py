from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlmodel import SQLModel

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
    worker_names: list[str]


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
async def readiness(response: Response) -> ReadinessPublic:
    database = await run_in_threadpool(service.check_database)
    redis_status = await run_in_threadpool(service.check_redis)
    if redis_status.ok:
        workers, names = await run_in_threadpool(service.check_workers)
    else:
        workers, names = service.ComponentStatus(False, "redis is down"), []
    ready = database.ok and redis_status.ok and workers.ok
    if not ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return ReadinessPublic(
        status="ok" if ready else "unavailable",
        database=ComponentPublic(ok=database.ok, detail=database.detail),
        redis=ComponentPublic(ok=redis_status.ok, detail=redis_status.detail),
        workers=ComponentPublic(ok=workers.ok, detail=workers.detail),
        worker_names=names,
    )
