import uuid
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from pydantic import EmailStr
from sqlmodel import Field, SQLModel

from app.core.db import utcnow


class UserBase(SQLModel):
    email: EmailStr = Field(max_length=255)
    full_name: str | None = Field(default=None, max_length=255)


class UserCreate(UserBase):
    password: str = Field(min_length=8, max_length=128)


class UserUpdateMe(SQLModel):
    full_name: str | None = Field(default=None, max_length=255)


class User(UserBase, table=True):
    __tablename__ = "users"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    email: EmailStr = Field(max_length=255, sa_column_kwargs={"unique": True}, index=True)
    hashed_password: str = Field(repr=False)  # never in a repr, so never in a log line
    is_active: bool = True
    is_superuser: bool = False
    # Carried in every access token ("ver"); raising it (a password change or reset) makes
    # every older token invalid.
    token_version: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = Field(
        default_factory=utcnow,
        sa_type=sa.DateTime(timezone=True),
    )


class UserPublic(UserBase):
    id: uuid.UUID
    is_active: bool
    is_superuser: bool
    created_at: datetime


class Token(SQLModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105


class PasswordChange(SQLModel):
    current_password: str = Field(min_length=1, max_length=128)
    new_password: str = Field(min_length=8, max_length=128)


class ApiTokenScope(StrEnum):
    read = "read"  # GET, HEAD and OPTIONS only
    write = "write"


class ApiTokenCreate(SQLModel):
    name: str = Field(min_length=1, max_length=100)
    scope: ApiTokenScope = ApiTokenScope.read


class ApiToken(SQLModel, table=True):
    """A personal API token for scripts. Only its SHA-256 is stored (the token is 256 random
    bits: a fast hash is enough, and lets every request find it by an index)."""

    __tablename__ = "api_tokens"

    id: uuid.UUID = Field(default_factory=uuid.uuid4, primary_key=True)
    user_id: uuid.UUID = Field(foreign_key="users.id", ondelete="CASCADE", index=True)
    name: str = Field(max_length=100)
    scope: str = Field(max_length=16)
    token_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True}, repr=False)
    prefix: str = Field(max_length=16)  # the token's first characters, to recognise it
    created_at: datetime = Field(default_factory=utcnow, sa_type=sa.DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=sa.DateTime(timezone=True))


class ApiTokenPublic(SQLModel):
    id: uuid.UUID
    name: str
    scope: ApiTokenScope
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiTokenCreated(ApiTokenPublic):
    token: str  # shown once, never again


class ApiTokensPublic(SQLModel):
    data: list[ApiTokenPublic]
    count: int
