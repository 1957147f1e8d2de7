"""Failure classification and backoff. HTTP errors come from a real server on loopback."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

import httpx
import psycopg
import pytest
import redis
import sqlalchemy as sa

from app.jobs.errors import (
    PermanentJobError,
    TransientJobError,
    classify,
    parse_retry_after,
    retry_delay,
)


class _StatusHandler(BaseHTTPRequestHandler):
    """Answers /<status>?retry_after=<value> with that status and header."""

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        self.send_response(int(path.strip("/")))
        if query.startswith("retry_after="):
            self.send_header("Retry-After", unquote(query.removeprefix("retry_after=")))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _StatusHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _http_error(base: str, path: str) -> httpx.HTTPStatusError:
    response = httpx.get(f"{base}{path}", timeout=5)
    with pytest.raises(httpx.HTTPStatusError) as caught:
        response.raise_for_status()
    return caught.value


@pytest.mark.parametrize(
    ("path", "transient", "category"),
    [
        ("/429", True, "rate_limited"),
        ("/500", True, "upstream_error"),
        ("/503", True, "upstream_error"),
        ("/401", False, "unauthorized"),
        ("/403", False, "unauthorized"),
        ("/404", False, "not_found"),
        ("/400", False, "invalid_input"),
    ],
)
def test_http_statuses_are_classified(
    http_server: str, path: str, transient: bool, category: str
) -> None:
    kind = classify(_http_error(http_server, path))
    assert (kind.transient, kind.category) == (transient, category)
    assert kind.message.startswith(f"HTTP {path.strip('/')}")


def test_retry_after_is_read_in_seconds_and_as_a_date(http_server: str) -> None:
    assert classify(_http_error(http_server, "/429?retry_after=7")).retry_after == 7
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True).replace(
        " ", "%20"
    )
    from_date = classify(_http_error(http_server, f"/503?retry_after={when}")).retry_after
    assert from_date is not None
    assert 25 <= from_date <= 31
    assert parse_retry_after("soon") is None


def test_connection_and_timeout_errors_are_transient() -> None:
    with pytest.raises(httpx.ConnectError) as refused:
        httpx.get("http://127.0.0.1:1/", timeout=2)
    assert classify(refused.value).category == "network"
    assert classify(httpx.ReadTimeout("slow")).transient

    bad_db = sa.create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    with pytest.raises(sa.exc.OperationalError) as db_down:
        bad_db.connect()
    assert classify(db_down.value) == classify(db_down.value)
    assert classify(db_down.value).category == "database"
    assert classify(db_down.value).transient
    # The runtime's own connections are psycopg's, without SQLAlchemy's wrapping.
    with pytest.raises(psycopg.OperationalError) as raw_db_down:
        psycopg.connect("postgresql://postgres@127.0.0.1:1/none", connect_timeout=2)
    assert classify(raw_db_down.value).category == "database"

    with pytest.raises(redis.ConnectionError) as redis_down:
        redis.Redis(port=1, socket_connect_timeout=1).ping()
    assert classify(redis_down.value).transient


def test_explicit_and_unexpected_errors() -> None:
    transient = classify(TransientJobError("busy", retry_after=3, category="quota"))
    assert (transient.transient, transient.category, transient.retry_after) == (True, "quota", 3)
    permanent = classify(PermanentJobError("bad url"))
    assert (permanent.transient, permanent.category) == (False, "invalid_input")
    bug = classify(KeyError("site_url"))
    assert (bug.transient, bug.category) == (False, "internal_error")
    assert bug.message == "KeyError: 'site_url'"


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    for attempt, ceiling in [(1, 2.0), (2, 4.0), (3, 8.0), (10, 600.0)]:
        delays = [retry_delay(attempt=attempt, base=2, cap=600) for _ in range(300)]
        assert all(0 <= delay <= ceiling for delay in delays)
        assert max(delays) > ceiling * 0.7  # spread over the whole range, not a constant
        assert min(delays) < ceiling * 0.3


def test_retry_after_wins_over_jitter_within_the_cap() -> None:
    assert retry_delay(attempt=1, retry_after=42, base=2, cap=600) == 42
    assert retry_delay(attempt=1, retry_after=3600, base=2, cap=600) == 600
