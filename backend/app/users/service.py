"""Accounts: creation, lookup and authentication."""

import uuid
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from app.core.db import utcnow
from app.core.quota import QuotaExceededError
from app.core.security import (
    API_TOKEN_PREFIX,
    api_token_digest,
    hash_password,
    new_api_token,
    verify_password_or_decoy,
)
from app.users.models import (
    ApiToken,
    ApiTokenCreate,
    ApiTokenScope,
    User,
    UserCreate,
    UserUpdateMe,
)

MAX_API_TOKENS_PER_USER = 50
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class EmailTakenError(Exception):
    pass


def get_user_by_email(*, session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email.lower())).first()


def get_user(*, session: Session, user_id: uuid.UUID) -> User | None:
    return session.get(User, user_id)


def create_user(
    *,
    session: Session,
    user_in: UserCreate,
    is_superuser: bool = False,
    hashed_password: str | None = None,
) -> User:
    """`hashed_password`: the password already hashed (the API does it under its bound on
    Argon2 work, outside the session); else it is hashed here."""
    email = user_in.email.lower()
    if get_user_by_email(session=session, email=email) is not None:
        raise EmailTakenError(email)
    user = User(
        email=email,
        full_name=user_in.full_name,
        hashed_password=hashed_password or hash_password(user_in.password),
        is_superuser=is_superuser,
    )
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def update_me(*, session: Session, user: User, user_in: UserUpdateMe) -> User:
    user.sqlmodel_update(user_in.model_dump(exclude_unset=True))
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def set_password(
    *, session: Session, user: User, password: str | None = None, hashed_password: str | None = None
) -> User:
    """Sets the password (or its hash, computed by the caller) and invalidates every access
    token issued before: they carry the older token version."""
    user.hashed_password = hashed_password or hash_password(password or "")
    user.token_version += 1
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    user = get_user_by_email(session=session, email=email)
    # An unknown email costs the same Argon2 work as a wrong password (no timing oracle).
    matches = verify_password_or_decoy(password, None if user is None else user.hashed_password)
    return user if user is not None and matches else None


def ensure_first_superuser(*, session: Session, email: str, password: str) -> User:
    """Create the first superuser from settings once; later calls leave it as it is."""
    existing = get_user_by_email(session=session, email=email)
    if existing is not None:
        return existing
    return create_user(
        session=session,
        user_in=UserCreate(email=email, password=password, full_name="Administrator"),
        is_superuser=True,
    )


# --- Personal API tokens -----------------------------------------------------------------


def create_api_token(
    *, session: Session, user: User, token_in: ApiTokenCreate
) -> tuple[ApiToken, str]:
    """The stored token and the token itself, which is shown once and never stored."""
    count = session.exec(
        select(sa.func.count()).select_from(ApiToken).where(ApiToken.user_id == user.id)
    ).one()
    if count >= MAX_API_TOKENS_PER_USER:
        raise QuotaExceededError(
            f"You have {count} API tokens, the most one account may have; revoke one first"
        )
    token = new_api_token()
    row = ApiToken(
        user_id=user.id,
        name=token_in.name,
        scope=token_in.scope.value,
        token_hash=api_token_digest(token),
        prefix=token[: len(API_TOKEN_PREFIX) + 4],
    )
    session.add(row)
    session.commit()
    session.refresh(row)
    return row, token


def list_api_tokens(*, session: Session, user: User) -> list[ApiToken]:
    rows = session.exec(
        select(ApiToken)
        .where(ApiToken.user_id == user.id)
        .order_by(col(ApiToken.created_at).desc(), col(ApiToken.id))
    ).all()
    return list(rows)


def get_api_token(*, session: Session, user: User, token_id: uuid.UUID) -> ApiToken | None:
    row = session.get(ApiToken, token_id)
    return row if row is not None and row.user_id == user.id else None


def revoke_api_token(*, session: Session, token: ApiToken) -> None:
    session.delete(token)
    session.commit()


def authenticate_api_token(*, session: Session, token: str) -> tuple[User, ApiTokenScope] | None:
    """The account and scope of an API token, or None for an unknown (or revoked) one.
    Notes the use, at most once a minute per token."""
    found = session.exec(
        select(ApiToken, User)
        .join(User, col(User.id) == ApiToken.user_id)
        .where(ApiToken.token_hash == api_token_digest(token))
    ).first()
    if found is None:
        return None
    row, user = found
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        row.last_used_at = now
        session.add(row)
        session.commit()
    return user, ApiTokenScope(row.scope)
