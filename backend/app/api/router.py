"""Mounts every domain's routes under /api/v1, in the order of core/domains.py's DOMAINS."""

import importlib
from collections.abc import Sequence

from fastapi import APIRouter

from app.core.domains import DOMAINS, declared_domains, route_modules


def build_api_router(domains: Sequence[str] = DOMAINS) -> APIRouter:
    router = APIRouter()
    for module in route_modules(declared_domains(domains)):
        router.include_router(importlib.import_module(module).router)
    return router
