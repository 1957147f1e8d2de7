"""The FastAPI application: /api/v1 routers, /metrics, and the dashboard at /."""

import asyncio
import hmac
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

import sqlalchemy.exc as sa_exc
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app.api.router import api_router
from app.core.config import RELAXED_ENVIRONMENTS, settings
from app.core.db import request_slots
from app.core.logging import configure_logging, get_logger
from app.core.quota import QuotaExceededError
from app.core.rate_limit import RateLimiter
from app.core.request_context import RequestContextMiddleware
from app.core.security import PasswordWork, PasswordWorkBusyError
from app.health.service import ReadinessCache
from app.jobs.exporter import install_job_metrics
from app.jobs.status import job_status_reader

log = get_logger(__name__)


def _operation_id(route: APIRoute) -> str:
    # Stable operation ids ("jobs-get_job") keep the generated dashboard client readable.
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.database_slots = asyncio.Semaphore(request_slots())
    app.state.password_work = PasswordWork(
        concurrency=settings.PASSWORD_HASH_CONCURRENCY,
        queue_timeout=settings.PASSWORD_HASH_QUEUE_TIMEOUT,
    )
    app.state.rate_limiter = RateLimiter(settings.REDIS_URL)
    app.state.readiness = ReadinessCache(settings.HEALTH_CACHE_SECONDS)
    # The job-status poll reads through its own async pool (app/jobs/status.py).
    await job_status_reader.open()
    try:
        yield
    finally:
        await job_status_reader.close()
        await app.state.rate_limiter.close()


def create_app() -> FastAPI:
    configure_logging()
    app = FastAPI(
        title=settings.PROJECT_NAME,
        lifespan=_lifespan,
        openapi_url=f"{settings.API_V1_STR}/openapi.json",
        docs_url=f"{settings.API_V1_STR}/docs",
        redoc_url=None,
        generate_unique_id_function=_operation_id,
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["ETag", "X-Request-ID"],
        )
    # Added last, so it wraps the others: it answers and logs any error nothing handled.
    app.add_middleware(RequestContextMiddleware)

    @app.exception_handler(sa_exc.DataError)
    async def _rejected_by_database(request: Request, exc: sa_exc.DataError) -> JSONResponse:
        # Input that passed validation but not a column's rules (a NUL character, a value
        # out of range) is the client's to fix: 422 with PostgreSQL's reason, not a 500.
        reason = str(exc.orig).splitlines()[0] if exc.orig else "invalid value"
        log.info("input rejected by the database", path=request.url.path, reason=reason)
        return JSONResponse(status_code=422, content={"detail": f"Invalid input: {reason}"})

    @app.exception_handler(QuotaExceededError)
    async def _over_quota(_request: Request, exc: QuotaExceededError) -> JSONResponse:
        return JSONResponse(status_code=429, content={"detail": str(exc)})

    @app.exception_handler(PasswordWorkBusyError)
    async def _password_work_busy(_request: Request, _exc: PasswordWorkBusyError) -> JSONResponse:
        return JSONResponse(
            status_code=503,
            content={"detail": "Too many sign-ins at once; retry in a few seconds"},
            headers={"Retry-After": "5"},
        )

    app.include_router(api_router, prefix=settings.API_V1_STR)
    _mount_metrics(app)
    _mount_dashboard(app, Path(settings.FRONTEND_DIST))
    return app


def _mount_metrics(app: FastAPI) -> None:
    """Prometheus text at /metrics, outside /api/v1 (job numbers are computed per scrape)."""
    install_job_metrics()

    @app.get("/metrics", include_in_schema=False)
    def metrics(authorization: Annotated[str | None, Header()] = None) -> Response:
        refused = _metrics_refusal(authorization)
        if refused is not None:
            return refused
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _metrics_refusal(authorization: str | None) -> Response | None:
    """/metrics wants `Authorization: Bearer <METRICS_TOKEN>`; without a METRICS_TOKEN it is
    open on a developer machine and the test run, and refused elsewhere."""
    expected = settings.METRICS_TOKEN
    if expected is None:
        if settings.ENVIRONMENT in RELAXED_ENVIRONMENTS:
            return None
        return JSONResponse(
            status_code=403, content={"detail": "Set METRICS_TOKEN to scrape /metrics here"}
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), expected.encode()):
        return None
    return JSONResponse(
        status_code=401,
        content={"detail": "A bearer token (METRICS_TOKEN) is needed for /metrics"},
        headers={"WWW-Authenticate": "Bearer"},
    )


def _mount_dashboard(app: FastAPI, dist: Path) -> None:
    """Serve the built dashboard at / with a single-page-app fallback, when it was built."""
    index = dist / "index.html"
    if not index.is_file():
        return
    if (dist / "assets").is_dir():
        app.mount("/assets", StaticFiles(directory=dist / "assets"), name="assets")
    root = dist.resolve()

    @app.get("/{path:path}", include_in_schema=False)
    async def dashboard(path: str) -> FileResponse:
        if path.startswith("api/"):
            raise HTTPException(status_code=404, detail="Not Found")
        candidate = (root / path).resolve()
        if path and candidate.is_file() and candidate.is_relative_to(root):
            return FileResponse(candidate)
        return FileResponse(index)


app = create_app()
