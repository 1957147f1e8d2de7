"""Imports every domain's table models, so SQLModel.metadata knows the whole schema
(Alembic's autogenerate and the schema test need it)."""

import importlib

MODEL_MODULES = [
    "app.users.models",
    "app.projects.models",
    "app.jobs.models",
    "app.audits.models",
]


def import_all_models() -> None:
    for module in MODEL_MODULES:
        importlib.import_module(module)
