"""The platform with the example domain listed, as one more line in core/domains.py's
DOMAINS would make it (a test may not edit the application, so this module adds the line
before anything reads the list). Loaded by the example's worker (`-I`) and its API
(`create_api`, a uvicorn factory). Never import it into the test process itself."""

from fastapi import FastAPI

from app.core import domains

domains.DOMAINS = (*domains.DOMAINS, "tests.example_domain")

from app.core.celery_app import celery_app, configure_domains  # noqa: E402

# A worker imported celery_app before this module: collect again with the example listed.
configure_domains(celery_app, domains.declared_domains())


def create_api() -> FastAPI:
    from app.main import create_app

    return create_app()
