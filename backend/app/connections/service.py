"""Provider connections: save (encrypting the secret), read, remove, rotate keys; and the
daily fan-out every integration's Beat entry runs (one job per connected project)."""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, col, select

from app.connections.models import ConnectionPublic, ProviderConnection
from app.core import secrets
from app.core.db import utcnow
from app.core.logging import get_logger
from app.jobs.models import JobRun
from app.projects.models import Project

log = get_logger(__name__)


def save_connection(
    *,
    session: Session,
    project: Project,
    provider: str,
    target: str,
    account: str,
    secret: Mapping[str, Any],
    settings: Mapping[str, Any] | None = None,
) -> ProviderConnection:
    """Creates or replaces the project's connection to `provider`, and commits."""
    now = utcnow()
    values = {
        "target": target,
        "account": account,
        "settings_json": dict(settings or {}),
        "secret": secrets.encrypt_json(dict(secret)),
        "updated_at": now,
    }
    statement = (
        insert(ProviderConnection)
        .values(id=uuid.uuid4(), project_id=project.id, provider=provider, created_at=now, **values)
        .on_conflict_do_update(constraint="uq_provider_connections_project_id", set_=values)
    )
    session.execute(statement)
    session.commit()
    connection = get_connection(session=session, project_id=project.id, provider=provider)
    assert connection is not None
    return connection


def get_connection(
    *, session: Session, project_id: uuid.UUID, provider: str
) -> ProviderConnection | None:
    return session.exec(
        select(ProviderConnection).where(
            col(ProviderConnection.project_id) == project_id,
            col(ProviderConnection.provider) == provider,
        )
    ).first()


def read_secret(connection: ProviderConnection) -> dict[str, Any]:
    return secrets.decrypt_json(connection.secret)


def describe(connection: ProviderConnection) -> ConnectionPublic:
    return ConnectionPublic(
        provider=connection.provider,
        target=connection.target,
        account=connection.account,
        settings=dict(connection.settings_json),
        connected_at=connection.created_at,
        updated_at=connection.updated_at,
    )


def delete_connection(*, session: Session, project_id: uuid.UUID, provider: str) -> bool:
    connection = get_connection(session=session, project_id=project_id, provider=provider)
    if connection is None:
        return False
    session.delete(connection)
    session.commit()
    return True


def connected_projects(*, session: Session, provider: str) -> list[Project]:
    return list(
        session.exec(
            select(Project)
            .join(ProviderConnection, col(ProviderConnection.project_id) == col(Project.id))
            .where(col(ProviderConnection.provider) == provider)
            .order_by(col(Project.id))
        ).all()
    )


def rotate_secrets(*, session: Session, batch: int = 500) -> int:
    """Re-encrypts every stored secret with the first key of CREDENTIALS_ENCRYPTION_KEYS;
    returns how many. Run after putting a new key first, before dropping the old one."""
    rotated = 0
    last: uuid.UUID | None = None
    while True:
        query = select(ProviderConnection).order_by(col(ProviderConnection.id)).limit(batch)
        if last is not None:
            query = query.where(col(ProviderConnection.id) > last)
        rows = session.exec(query).all()
        if not rows:
            return rotated
        for row in rows:
            row.secret = secrets.rotate(row.secret)
            session.add(row)
        session.commit()
        rotated += len(rows)
        last = rows[-1].id


@dataclass(slots=True)
class FanOutResult:
    started: list[uuid.UUID] = field(default_factory=list)
    already: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # project id -> error


def fan_out(
    *,
    session: Session,
    provider: str,
    start: Callable[[Session, Project], tuple[JobRun, bool]],
) -> FanOutResult:
    """Runs `start(session, project)` (which starts a job with a day-scoped dedupe key and
    `once=True`) for every project connected to `provider`. Each start commits on its own;
    one project's failure is logged and recorded and never stops the others."""
    result = FanOutResult()
    for project in connected_projects(session=session, provider=provider):
        try:
            job, created = start(session, project)
        except Exception as exc:  # one project must not block the rest
            session.rollback()
            result.failed[str(project.id)] = f"{type(exc).__name__}: {exc}"
            log.warning(
                "fan_out_start_failed",
                provider=provider,
                project_id=str(project.id),
                error=str(exc),
            )
            continue
        if created:
            result.started.append(job.id)
        else:
            result.already += 1
    log.info(
        "fan_out_done",
        provider=provider,
        started=len(result.started),
        already=result.already,
        failed=len(result.failed),
    )
    return result
