"""Mounts every domain's routes under /api/v1, in the order of core/domains.py's DOMAINS."""

import importlib

from fastapi import APIRouter

from app.core.domains import declared_domains, route_modules

api_router = APIRouter()
for module in route_modules(declared_domains()):
    api_router.include_router(importlib.import_module(module).router)
