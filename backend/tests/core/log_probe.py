"""A worker entry point for the logging test: the platform's Celery app plus one task that
logs through structlog and through plain stdlib logging (as third-party code does)."""

import logging

from app.core.celery_app import celery_app
from app.core.logging import get_logger

__all__ = ["celery_app", "log_probe"]

log = get_logger("tests.log_probe")


@celery_app.task(name="tests.log_probe")
def log_probe(marker: str) -> str:
    log.info("probe via structlog", marker=marker)
    logging.getLogger("tests.stdlib").warning("probe via stdlib %s", marker)
    return marker
