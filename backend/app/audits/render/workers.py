"""Whether any live worker will render: asked at the end of a crawl, so an audit that nothing
will render goes straight to analyze instead of waiting on the render queue for a worker that
is not there (or has no browser).

Each worker answers the `render_capability` inspect command from its main process: does it
consume the render queue, and if so, why can it not launch a browser (None when it can). The
answer is worked out once per process, when the worker is ready, so a probe never waits for
Playwright.
"""

from typing import Any

from celery import signals
from celery.worker.control import inspect_command

from app.core.celery_app import celery_app
from app.core.config import settings
from app.core.logging import get_logger

logger = get_logger(__name__)

RENDER_QUEUE = "render"
# Replies are collected for this long: the end of a crawl waits this once per audit.
PROBE_TIMEOUT_SECONDS = 1.0
NO_RENDER_WORKER = "no worker consumes the render queue"

_browser_missing: dict[str, str | None] = {}


def _consumed_queues(consumer: Any) -> set[str]:
    task_consumer = getattr(consumer, "task_consumer", None)
    if task_consumer is None:
        return set()
    return {queue.name for queue in task_consumer.queues}


def _browser_missing_reason() -> str | None:
    if "reason" not in _browser_missing:
        from app.audits.render.renderer import browser_unavailable_reason

        _browser_missing["reason"] = browser_unavailable_reason(settings)
    return _browser_missing["reason"]


@signals.worker_ready.connect
def _check_browser_when_ready(sender: Any = None, **_: Any) -> None:
    if RENDER_QUEUE in _consumed_queues(sender):
        reason = _browser_missing_reason()
        if reason is not None:
            logger.warning("render_worker_without_browser", reason=reason)


@inspect_command()
def render_capability(state: Any, **_: Any) -> dict[str, Any]:
    """This worker's part in rendering: {"render": consumes the queue, "browser_missing"}."""
    renders = RENDER_QUEUE in _consumed_queues(state.consumer)
    return {"render": renders, "browser_missing": _browser_missing_reason() if renders else None}


def nothing_will_render_reason(timeout: float = PROBE_TIMEOUT_SECONDS) -> str | None:
    """Why no live worker would render this audit's pages, or None when one would (or when
    the workers cannot be asked: then the render stage decides, as it always can)."""
    try:
        replies = celery_app.control.broadcast("render_capability", reply=True, timeout=timeout)
    except Exception as exc:
        logger.warning("render_probe_failed", error=repr(exc))
        return None
    answers = [answer for reply in replies or [] for answer in reply.values()]
    if any(not isinstance(answer, dict) or "render" not in answer for answer in answers):
        return None  # a worker that does not know the command (older code): do not guess
    renderers = [answer for answer in answers if answer["render"]]
    if not renderers:
        return NO_RENDER_WORKER
    missing = [answer["browser_missing"] for answer in renderers]
    if any(reason is None for reason in missing):
        return None
    return str(missing[0])
