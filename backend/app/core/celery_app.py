"""The Celery application: Redis broker, JSON only, explicit queues; the task modules, their
routes and the Beat schedule are collected from the domains' declarations (core/domains.py).

Workers start with `seo-platform worker` (or `celery -A app.core.celery_app worker`).
"""

import gc
import time
from collections.abc import Sequence
from typing import Any

import structlog
from celery import Celery, signals
from kombu import Queue

from app.core.config import settings
from app.core.domains import (
    Domain,
    DomainDeclarationError,
    beat_schedule,
    declared_domains,
    task_modules,
    task_routes,
)

QUEUES = ("default", "render", "low")


def configure_domains(app: Celery, domains: Sequence[Domain]) -> None:
    """What the domains declare (core/domains.py): the task modules a worker imports, the
    queues their tasks are routed to (`default` unless declared) and the Beat schedule."""
    routes = task_routes(domains)
    unknown = {route["queue"] for route in routes.values()} - set(QUEUES)
    if unknown:
        raise DomainDeclarationError(f"tasks routed to undeclared queues {sorted(unknown)}")
    app.conf.update(
        include=task_modules(domains),
        task_routes=routes,
        beat_schedule=beat_schedule(domains),
    )
    app.amqp.flush_routes()


def create_celery_app() -> Celery:
    app = Celery("seo_platform", broker=settings.broker_url, backend=settings.result_backend_url)
    app.conf.update(
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        timezone="UTC",
        enable_utc=True,
        # Reliability: a message is acknowledged after the task ran, and given back to the
        # queue if the worker process dies under it.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_time_limit=settings.TASK_TIME_LIMIT,
        task_soft_time_limit=settings.TASK_SOFT_TIME_LIMIT,
        # Redis redelivers an unacknowledged message after the visibility timeout; it must be
        # longer than the longest task, or a running task is delivered twice (celery#5935).
        broker_transport_options={
            "visibility_timeout": settings.TASK_TIME_LIMIT + 600,
            # A broker that went away (host down, network cut) fails a connect in seconds
            # instead of hanging in it, so the retry loop below keeps turning.
            "socket_connect_timeout": 5,
            "socket_keepalive": True,
            # Redis behind Sentinel (REDIS_SENTINEL_MASTER): the master's name.
            **settings.sentinel_transport_options,
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        },
        result_backend_transport_options=settings.sentinel_transport_options,
        # Broker lost: workers and Beat keep trying to reconnect, however long it takes
        # (Celery's default gives up after 100 tries), and running tasks go on meanwhile:
        # their results are written to PostgreSQL, which does not need the broker.
        broker_connection_retry_on_startup=True,
        broker_connection_retry=True,
        broker_connection_max_retries=None,
        worker_cancel_long_running_tasks_on_connection_loss=False,
        result_expires=24 * 3600,
        task_queues=[Queue(name) for name in QUEUES],
        task_default_queue="default",
        task_create_missing_queues=False,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
    )
    configure_domains(app, declared_domains())
    return app


celery_app = create_celery_app()


@signals.setup_logging.connect
def _setup_logging(**_: Any) -> None:
    from app.core.logging import configure_logging

    configure_logging()


@signals.worker_before_create_process.connect
def _freeze_before_fork(**_: Any) -> None:
    # In the parent, just before each prefork child is forked. Moving every object the worker
    # holds out of the collector's reach keeps a collection (in the parent or the child) from
    # writing to their pages: the children share those pages with the parent instead of each
    # copying them.
    gc.collect()
    gc.freeze()


@signals.worker_process_init.connect
def _reset_connections_after_fork(**_: Any) -> None:
    # A prefork child must not share the parent's pooled database connections.
    from app.core.db import engine

    engine.dispose(close=False)
    # What the child inherited stays shared with the parent (see _freeze_before_fork).
    gc.freeze()


@signals.before_task_publish.connect
def _stamp_published_at(headers: dict[str, Any] | None = None, **_: Any) -> None:
    # Redis keeps no enqueue time; the stamp lets stats report the oldest message's age.
    if headers is not None:
        headers.setdefault("published_at", time.time())


@signals.task_prerun.connect
def _bind_task_context(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(task_id=task_id, task_name=getattr(task, "name", None))


@signals.task_postrun.connect
def _clear_task_context(**_: Any) -> None:
    structlog.contextvars.clear_contextvars()
