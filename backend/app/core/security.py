"""Password hashing and access tokens."""

import time
from datetime import timedelta
from functools import lru_cache
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.config import settings
from app.core.db import utcnow

ALGORITHM = "HS256"
password_hash = PasswordHash((Argon2Hasher(),))


def hash_password(password: str) -> str:
    return password_hash.hash(password)


def verify_password(password: str, hashed: str) -> bool:
    return password_hash.verify(password, hashed)


def create_access_token(subject: str, expires_delta: timedelta | None = None) -> str:
    expire = utcnow() + (expires_delta or timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES))
    payload: dict[str, Any] = {"sub": subject, "exp": expire}
    return jwt.encode(payload, settings.SECRET_KEY, algorithm=ALGORITHM)


def decode_access_token(token: str) -> str | None:
    """The token's subject, or None when it is invalid or expired."""
    verified = _verify_signature(token)
    if verified is None:
        return None
    subject, expires_at = verified
    # The signature check is cached, the expiry is checked on every use.
    if expires_at is not None and expires_at <= time.time():
        return None
    return subject


@lru_cache(maxsize=4096)
def _verify_signature(token: str) -> tuple[str, float | None] | None:
    """(subject, expiry) of a correctly signed token. Verifying an HS256 signature costs
    about as much as the rest of a status poll, and pollers send the same token every
    second: the outcome for one token string never changes, so it is cached."""
    try:
        payload = jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM])
    except jwt.PyJWTError:
        return None
    subject = payload.get("sub")
    expires_at = payload.get("exp")
    if not isinstance(subject, str):
        return None
    return subject, float(expires_at) if isinstance(expires_at, int | float) else None
