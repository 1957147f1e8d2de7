"""Stored credentials: encrypted at rest, rotated to a new key, and the daily fan-out."""

import multiprocessing
import time

import pytest
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlmodel import Session

from app.connections import service
from app.core import secrets
from app.core.config import settings
from app.core.token_bucket import Bucket, TokenBuckets
from app.jobs import service as jobs_service
from app.jobs.models import JobRun
from app.projects.models import Project
from tests.builders import create_project, create_user

SECRET = {"refresh_token": "1//very-secret-refresh-token", "client_secret": "GOCSPX-hidden"}


def test_secrets_are_stored_encrypted_and_read_back(session: Session) -> None:
    project = create_project(session, owner=create_user(session))
    connection = service.save_connection(
        session=session,
        project=project,
        provider="gsc",
        target="sc-domain:example.com",
        account="owner@example.com",
        secret=SECRET,
    )
    raw = session.execute(
        sa.text("SELECT secret FROM provider_connections WHERE id = :id"), {"id": connection.id}
    ).scalar_one()
    assert b"very-secret" not in bytes(raw)
    assert service.read_secret(connection) == SECRET
    public = service.describe(connection).model_dump()
    assert "very-secret" not in str(public)
    assert public["account"] == "owner@example.com"


def test_saving_again_replaces_the_connection(session: Session) -> None:
    project = create_project(session, owner=create_user(session))
    for target in ("sc-domain:a.example", "sc-domain:b.example"):
        service.save_connection(
            session=session,
            project=project,
            provider="gsc",
            target=target,
            account="x",
            secret=SECRET,
        )
    connection = service.get_connection(session=session, project_id=project.id, provider="gsc")
    assert connection is not None
    assert connection.target == "sc-domain:b.example"
    assert service.delete_connection(session=session, project_id=project.id, provider="gsc")
    assert service.get_connection(session=session, project_id=project.id, provider="gsc") is None


def test_key_rotation_re_encrypts_and_the_old_key_can_then_go(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setattr(settings, "CREDENTIALS_ENCRYPTION_KEYS", [old])
    project = create_project(session, owner=create_user(session))
    service.save_connection(
        session=session,
        project=project,
        provider="ads",
        target="123-456-7890",
        account="x",
        secret=SECRET,
    )
    monkeypatch.setattr(settings, "CREDENTIALS_ENCRYPTION_KEYS", [new, old])
    assert service.rotate_secrets(session=session) == 1
    monkeypatch.setattr(settings, "CREDENTIALS_ENCRYPTION_KEYS", [new])
    connection = service.get_connection(session=session, project_id=project.id, provider="ads")
    assert connection is not None
    assert service.read_secret(connection) == SECRET
    monkeypatch.setattr(settings, "CREDENTIALS_ENCRYPTION_KEYS", [old])
    with pytest.raises(secrets.SecretUnreadableError, match="rotate-credentials"):
        service.read_secret(connection)


def test_fan_out_starts_one_job_per_project_per_day_and_survives_a_failure(
    session: Session,
) -> None:
    owner = create_user(session)
    projects = [create_project(session, owner=owner) for _ in range(3)]
    for project in projects:
        service.save_connection(
            session=session,
            project=project,
            provider="gsc",
            target="t",
            account="a",
            secret=SECRET,
        )
    broken = projects[1].id

    def start(db: Session, project: Project) -> tuple[JobRun, bool]:
        if project.id == broken:
            raise RuntimeError("this project cannot start today")
        return jobs_service.start_job(
            session=db,
            job_type="maintenance",
            stage="cleanup",
            project=project,
            user=None,
            dedupe_key=jobs_service.day_dedupe_key("maintenance", project.id),
            once=True,
        )

    first = service.fan_out(session=session, provider="gsc", start=start)
    second = service.fan_out(session=session, provider="gsc", start=start)
    assert len(first.started) == 2
    assert list(first.failed) == [str(broken)]
    assert (len(second.started), second.already) == (0, 2)


def _take_tokens(url: str, seconds: float, out: "multiprocessing.Queue[list[float]]") -> None:
    buckets = TokenBuckets(redis.Redis.from_url(url))
    limit = [Bucket(name="test:shared", per_minute=600, burst=1)]  # 10 a second
    taken: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        buckets.take(limit, max_wait=5)
        taken.append(time.time())
    out.put(taken)


# Asserts spacing in time between calls, which a loaded machine's scheduling stretches
# and bunches: run alone (scripts/test).
@pytest.mark.serial
def test_a_token_bucket_is_shared_by_processes(redis_client: redis.Redis) -> None:
    url = redis_client.connection_pool.connection_kwargs
    redis_url = f"redis://{url['host']}:{url['port']}/{url['db']}"
    out: multiprocessing.Queue[list[float]] = multiprocessing.get_context("spawn").Queue()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_take_tokens, args=(redis_url, 2.0, out)) for _ in range(3)]
    for worker in workers:
        worker.start()
    results = [out.get(timeout=30) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    times = sorted(t for r in results for t in r)
    assert all(len(r) >= 3 for r in results)  # every process got calls through
    # 10 a second shared, not 10 a second each: no 1-second window holds more than 10 calls
    # plus the burst of 1 (and a little clock slack), while three processes asked at once.
    busiest = max(sum(1 for u in times if t <= u < t + 1.0) for t in times)
    assert busiest <= 12
    assert len(times) <= (times[-1] - times[0]) * 10 + 2
