"""Accounts: creation, lookup and authentication."""

import uuid

from sqlmodel import Session, select

from app.core.security import hash_password, verify_password_or_decoy
from app.users.models import User, UserCreate, UserUpdateMe


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


def set_password(*, session: Session, user: User, password: str) -> User:
    user.hashed_password = hash_password(password)
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
