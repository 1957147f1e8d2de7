"""Imports every domain's table models, so SQLModel.metadata knows the whole schema
(Alembic's autogenerate and the schema test need it). The modules come from the domains'
declarations (core/domains.py)."""

import importlib

from app.core.domains import declared_domains, model_modules


def import_all_models() -> None:
    for module in model_modules(declared_domains()):
        importlib.import_module(module)
