"""No internals in errors or logs: database errors without their SQL parameters (and, for
people, without the SQL), no password hash or secret in a repr or a log line."""

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from app.core.config import Settings
from app.jobs.errors import classify
from tests.builders import create_user
from tests.core.processes import BACKEND


def test_database_errors_hide_their_parameters(session: Session) -> None:
    with pytest.raises(sa.exc.DBAPIError) as caught:
        session.execute(sa.text("SELECT CAST(:v AS text), 1 / 0"), {"v": "secret-param-123"})
    session.rollback()
    assert "division by zero" in str(caught.value)
    assert "secret-param-123" not in str(caught.value)


def test_a_job_error_message_is_the_database_reason_only(session: Session) -> None:
    user = create_user(session, email="taken@example.com")
    with pytest.raises(sa.exc.IntegrityError) as caught:
        session.execute(
            sa.text(
                "INSERT INTO users (id, email, hashed_password, is_active, is_superuser,"
                " created_at) VALUES (gen_random_uuid(), :email, :hash, true, false, now())"
            ),
            {"email": user.email, "hash": user.hashed_password},
        )
    session.rollback()
    message = classify(caught.value).message
    assert message.startswith("database error (UniqueViolation): duplicate key value"), message
    for internal in ("INSERT", "taken@example.com", "$argon2", "DETAIL", "parameters"):
        assert internal not in message, message


def test_reprs_leave_out_hashes_and_secrets(session: Session) -> None:
    user = create_user(session)
    assert "$argon2" not in repr(user)
    assert "$argon2" not in str(user)
    settings = Settings(_env_file=None, SECRET_KEY="k" * 40, FIRST_SUPERUSER_PASSWORD="p" * 20)  # type: ignore[call-arg]
    assert "k" * 40 not in repr(settings)
    assert "p" * 20 not in repr(settings)


LOGGING_PROBE = """
import logging
from app.core.logging import configure_logging, get_logger
configure_logging(json_logs=True, level="INFO")
log = get_logger("probe")
hashed = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
log.info("login", password="hunter2-hunter2", user={"email": "a@b.c", "hashed_password": hashed})
log.info("said " + hashed)
try:
    raise ValueError("bad row: " + hashed)
except ValueError:
    log.exception("failed")
logging.getLogger("thirdparty").warning("stdlib %s", hashed)
"""


def test_no_password_or_hash_reaches_a_log_line() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LOGGING_PROBE],
        cwd=BACKEND,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
    assert len(lines) == 4, done.stderr
    assert "$argon2id$v=19" not in done.stderr
    assert "hunter2" not in done.stderr
    assert lines[0]["password"] == "[redacted]"
    assert "ValueError: bad row" in lines[2]["exception"]
