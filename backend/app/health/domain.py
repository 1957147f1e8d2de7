"""Liveness and readiness (database, Redis, workers) under /health."""

from app.core.domains import Domain

domain = Domain(name="health", routes="app.health.routes")
