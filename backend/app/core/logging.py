"""structlog set-up: JSON in production, readable console in development.

Context (request id, task id, job id) travels in contextvars, so every line a request or a
task writes carries it without being passed around.
"""

import logging
import re
import sys
from collections.abc import Mapping

import structlog

from app.core.config import settings

_configured = False

# An Argon2 hash anywhere in a line (a repr, an error message, a traceback) is cut out.
_PASSWORD_HASH = re.compile(r"\$argon2(?:id|i|d)\$[^\s'\",)\]}]+")
# Values logged under these keys are never written.
SECRET_KEYS = frozenset(
    {
        "password",
        "hashed_password",
        "current_password",
        "new_password",
        "access_token",
        "token",
        "secret",
        "authorization",
    }
)
REDACTED = "[redacted]"


def _redact(value: object) -> object:
    if isinstance(value, str):
        return _PASSWORD_HASH.sub("$argon2[redacted]", value) if "$argon2" in value else value
    if isinstance(value, dict):
        return {
            key: REDACTED if str(key).lower() in SECRET_KEYS else _redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_redact(item) for item in value]
    return value


def redact_secrets(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """No password, token or password hash reaches a log line, whoever logs it."""
    redacted = _redact(event_dict)
    assert isinstance(redacted, dict)
    return redacted


def configure_logging(*, json_logs: bool | None = None, level: str | None = None) -> None:
    global _configured
    if _configured:
        return
    _configured = True
    as_json = settings.log_json if json_logs is None else json_logs
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        # Plain tracebacks: a rich one with locals pretty-prints every object in every frame
        # (the whole app, a session, a token) on the thread that logs, which for the API is
        # its event loop: one error there stalled every request for minutes.
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        # The level filter comes first: a call below the level builds no event at all.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*shared, _task_id_from_celery_record],
        pass_foreign_args=True,  # read (then dropped) by _task_id_from_celery_record
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            # Tracebacks become text here (plain, no locals) so the redaction sees them too.
            structlog.processors.format_exc_info,
            redact_secrets,
            renderer,
        ],
    )
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel((level or settings.LOG_LEVEL).upper())
    # Python warnings (e.g. Celery's SecurityWarning) become log lines in the same format.
    logging.captureWarnings(True)
    # uvicorn's own lines go through the same formatter, whoever configured uvicorn first
    # (`uvicorn app.main:app` installs its handlers before importing the app).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    # The request middleware writes the access line (with the request id and duration).
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _task_id_from_celery_record(
    _logger: object, _method: str, event_dict: structlog.types.EventDict
) -> structlog.types.EventDict:
    """Celery logs "Task x[id] received/succeeded/failed" with the id in its format
    arguments, partly outside the task's context: lift it into the `task_id` field."""
    arguments = event_dict.pop("positional_args", None)
    record = event_dict.get("_record")
    if "task_id" in event_dict or record is None or not record.name.startswith("celery"):
        return event_dict
    if isinstance(arguments, Mapping) and isinstance(arguments.get("id"), str):
        event_dict["task_id"] = arguments["id"]
    return event_dict


def get_logger(name: str | None = None) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
