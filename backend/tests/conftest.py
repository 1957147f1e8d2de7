"""Test set-up: a dedicated PostgreSQL database migrated once per run, a dedicated Redis
database, and truncation between tests (worker processes see committed data, so tests do
not hide inside a rolled-back transaction).

Environment knobs: TEST_DATABASE_URL (default: the `seo_platform_test` database on the local
server) and TEST_REDIS_URL (default: database 15 of the local Redis); under pytest-xdist each
test process derives its own from them (below).
"""

import os

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/seo_platform_test"
)
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

# Under pytest-xdist (`-n 2`), each test process gets a database and a Redis database of its
# own: `gw0` keeps the configured ones, `gwN` appends `_gwN` to the database name and counts
# the Redis database down by N. Celery's broadcasts (ping, inspect) are scoped to the Redis
# database, so the worker processes of two test processes never answer each other.
_XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _XDIST_WORKER not in ("", "gw0"):
    _index = int(_XDIST_WORKER.removeprefix("gw"))
    TEST_DATABASE_URL = f"{TEST_DATABASE_URL}_gw{_index}"
    _redis_base, _, _redis_db = TEST_REDIS_URL.rpartition("/")
    TEST_REDIS_URL = f"{_redis_base}/{int(_redis_db or 0) - _index}"

# Settings are read once at import, so the environment is fixed before the app is imported.
os.environ.update(
    {
        "ENVIRONMENT": "test",
        "DATABASE_URL": TEST_DATABASE_URL,
        "REDIS_URL": TEST_REDIS_URL,
        "CELERY_BROKER_URL": TEST_REDIS_URL,
        "CELERY_RESULT_BACKEND": TEST_REDIS_URL,
        "CRAWL_ALLOW_PRIVATE_NETWORKS": "true",
        # The test webhook receivers answer on loopback (tests/notifications).
        "WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        # The fake Google servers (tests/fakes) answer on loopback.
        "GOOGLE_TOKEN_HOSTS": "oauth2.googleapis.com,127.0.0.1",
        "FIRST_SUPERUSER": "admin@example.com",
        "FIRST_SUPERUSER_PASSWORD": "admin-password-for-tests",
        "LOG_LEVEL": "WARNING",
        "FRONTEND_DIST": "/nonexistent",
        # Tests sign up and log in far more often than people do; tests of the limits lower
        # them (tests/users/test_login_protection.py).
        "LOGIN_RATE_LIMIT_PER_ACCOUNT": "100000",
        "LOGIN_RATE_LIMIT_PER_ADDRESS": "100000",
        "SIGNUP_RATE_LIMIT_PER_ADDRESS": "100000",
    }
)

from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402
import redis  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlmodel import Session  # noqa: E402

from tests.database import recreate_database, truncate_all_tables  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def _database() -> Iterator[None]:
    recreate_database(TEST_DATABASE_URL)
    from app.core.migrations import upgrade_to_head

    upgrade_to_head()
    yield
    from app.core.db import engine

    engine.dispose()


@pytest.fixture(autouse=True)
def _clean_tables() -> Iterator[None]:
    yield
    truncate_all_tables()


@pytest.fixture
def session() -> Iterator[Session]:
    from app.core.db import engine

    with Session(engine, expire_on_commit=False) as db_session:
        yield db_session


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture(scope="session")
def client() -> Iterator[TestClient]:
    from app.main import app

    with TestClient(app) as test_client:
        yield test_client
