"""Which failures are worth retrying, and how long to wait.

Transient: the world may change by the next attempt (connection errors, timeouts, HTTP 429
and 5xx, a lost database or Redis connection). Permanent: retrying cannot help (bad input,
401/403, 404, any other 4xx, and bugs: an unexpected exception is not retried blindly).
"""

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx
import psycopg
import redis
import sqlalchemy.exc

from app.core.config import settings


class JobCancelled(Exception):  # noqa: N818 - the contract's name
    """Raised at a checkpoint when a cancel was requested; the job ends `cancelled`."""


class TransientJobError(Exception):
    """Retried with backoff while attempts remain."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, category: str = "transient"
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.category = category


class PermanentJobError(Exception):
    """Fails the job at once."""

    def __init__(self, message: str, *, category: str = "invalid_input") -> None:
        super().__init__(message)
        self.category = category


@dataclass(frozen=True, slots=True)
class FailureKind:
    transient: bool
    category: str
    message: str
    retry_after: float | None = None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, sqlalchemy.exc.DBAPIError | psycopg.Error):
        return _describe_database_error(exc)
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _describe_database_error(exc: BaseException) -> str:
    """The database's own reason (its first line) and nothing more: no SQL statement, no
    parameters, no DETAIL line (which quotes the row's values). The traceback keeps the
    statement for operators, with its parameters hidden (app.core.db)."""
    cause = exc.orig if isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.orig else exc
    lines = str(cause).strip().splitlines()
    reason = lines[0] if lines else ""
    name = type(cause).__name__
    return f"database error ({name}): {reason}" if reason else f"database error ({name})"


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def classify(exc: BaseException) -> FailureKind:
    if isinstance(exc, TransientJobError):
        return FailureKind(True, exc.category, str(exc), exc.retry_after)
    if isinstance(exc, PermanentJobError):
        return FailureKind(False, exc.category, str(exc))
    if isinstance(exc, httpx.HTTPStatusError):
        return _classify_http(exc)
    if isinstance(exc, httpx.TimeoutException):
        return FailureKind(True, "timeout", _describe(exc))
    if isinstance(exc, httpx.TransportError):
        return FailureKind(True, "network", _describe(exc))
    if isinstance(
        exc,
        sqlalchemy.exc.OperationalError
        | sqlalchemy.exc.InterfaceError
        | psycopg.OperationalError
        | psycopg.InterfaceError,
    ) or (isinstance(exc, sqlalchemy.exc.DBAPIError) and exc.connection_invalidated):
        return FailureKind(True, "database", _describe(exc))
    if isinstance(exc, redis.ConnectionError | redis.TimeoutError):
        return FailureKind(True, "redis", _describe(exc))
    if isinstance(exc, TimeoutError):
        return FailureKind(True, "timeout", _describe(exc))
    if isinstance(exc, ConnectionError):
        return FailureKind(True, "network", _describe(exc))
    return FailureKind(False, "internal_error", _describe(exc))


def _classify_http(exc: httpx.HTTPStatusError) -> FailureKind:
    response = exc.response
    status = response.status_code
    message = f"HTTP {status} from {exc.request.url.host}"
    if status == 429 or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        category = "rate_limited" if status == 429 else "upstream_error"
        return FailureKind(True, category, message, retry_after)
    if status in (401, 403):
        return FailureKind(False, "unauthorized", message)
    if status == 404:
        return FailureKind(False, "not_found", message)
    return FailureKind(False, "invalid_input", message)


def retry_delay(
    *,
    attempt: int,
    retry_after: float | None = None,
    base: float | None = None,
    cap: float | None = None,
) -> float:
    """Full-jitter exponential backoff: uniform(0, min(cap, base * 2**(attempt - 1))).

    A server's Retry-After wins over the jitter (waiting less would only be refused again),
    bounded by the cap so one header cannot park a job for hours.
    """
    cap = float(settings.JOB_RETRY_BACKOFF_CAP_SECONDS if cap is None else cap)
    base = float(settings.JOB_RETRY_BACKOFF_BASE_SECONDS if base is None else base)
    if retry_after is not None:
        return min(max(0.0, retry_after), cap)
    return random.uniform(0.0, min(cap, base * 2 ** max(0, attempt - 1)))  # noqa: S311
