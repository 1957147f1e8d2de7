"""ASGI middleware: a request id on every log line of a request, one access line, and the
last word on an error nothing else handled."""

import json
import time
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.logging import get_logger

log = get_logger("app.access")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope) or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        started = time.perf_counter()
        status_code = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status_code, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status_code = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # Answered and logged here, once, and not raised on: an exception that escapes
            # the app is logged again by the server, and the request is left to it. The
            # route's dependencies have already released what they held (session, slot).
            status_code = 500
            log.exception("unhandled error", method=scope["method"], path=scope["path"])
            if not response_started:
                await send_with_id(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"application/json"),
                            (b"content-length", str(len(_INTERNAL_ERROR)).encode()),
                        ],
                    }
                )
                await send_with_id({"type": "http.response.body", "body": _INTERNAL_ERROR})
        finally:
            log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status_code,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
            )
            # The context is not cleared here: each request runs in its own asyncio task with
            # its own copy of the context, and uvicorn's error line for an exception that
            # escapes the app is written after this block, in the same task.


_INTERNAL_ERROR = json.dumps({"detail": "Internal server error"}).encode()


def _incoming_request_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")[:64]
            if candidate.replace("-", "").isalnum():
                return candidate
    return None
