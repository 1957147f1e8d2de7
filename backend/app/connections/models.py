"""One row per (project, provider): the connection's public facts and its encrypted secret."""

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class ProviderConnection(SQLModel, table=True):
    __tablename__ = "provider_connections"
    __table_args__ = (sa.UniqueConstraint("project_id", "provider"),)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    project_id: uuid.UUID = Field(foreign_key="projects.id", ondelete="CASCADE", index=True)
    provider: str = Field(max_length=32)
    # What the connection reaches (a Search Console property, an Ads customer id), and who
    # it is (a service account's email, an OAuth client): shown, never secret.
    target: str = Field(max_length=2048)
    account: str = Field(max_length=512)
    # Other public settings (e.g. Ads login_customer_id); the secret holds the rest.
    settings_json: dict[str, Any] = Field(default_factory=dict, sa_type=JSONB)
    secret: bytes = Field(sa_type=sa.LargeBinary)  # core/secrets.py, Fernet
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))


class ConnectionPublic(SQLModel):
    """What the API shows of a connection: never the secret, only that it is set, when,
    and for whom."""

    provider: str
    target: str
    account: str
    settings: dict[str, Any]
    connected_at: datetime
    updated_at: datetime


class ConnectionTestPublic(SQLModel):
    """A test connection's answer: `ok`, and `detail` for people (what was found, or what to
    fix); `choices` lists what the credential can see when the target is not among it."""

    ok: bool
    detail: str
    choices: list[str] = []
