"""Password hashing and access tokens."""

import asyncio
import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import jwt
from fastapi.concurrency import run_in_threadpool
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


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return password_hash.hash("a password no account has")


def verify_password_or_decoy(password: str, hashed: str | None) -> bool:
    """Verifies against the account's hash, or against a decoy when there is no account:
    an unknown email costs the same Argon2 work as a wrong password (no timing oracle)."""
    if hashed is None:
        password_hash.verify(password, _decoy_hash())
        return False
    return password_hash.verify(password, hashed)


class PasswordWorkBusyError(Exception):
    """No Argon2 slot freed within PASSWORD_HASH_QUEUE_TIMEOUT (answered 503)."""


class PasswordWork:
    """Argon2 hashing and verifying off the event loop, at most `concurrency` at once per
    process. Each costs about 64 MiB and a tenth of a second of CPU: a flood of logins waits
    here, holding neither a thread nor a database connection, instead of starving both."""

    def __init__(self, *, concurrency: int, queue_timeout: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._queue_timeout = queue_timeout

    async def _acquire(self) -> None:
        try:
            await asyncio.wait_for(self._slots.acquire(), timeout=self._queue_timeout)
        except TimeoutError:
            raise PasswordWorkBusyError from None

    async def verify(self, password: str, hashed: str | None) -> bool:
        await self._acquire()
        try:
            return await run_in_threadpool(verify_password_or_decoy, password, hashed)
        finally:
            self._slots.release()

    async def hash(self, password: str) -> str:
        await self._acquire()
        try:
            return await run_in_threadpool(hash_password, password)
        finally:
            self._slots.release()


@dataclass(frozen=True, slots=True)
class AccessClaims:
    subject: str
    version: int  # the account's token_version when the token was issued


def create_access_token(
    subject: str, expires_delta: timedelta | None = None, *, version: int = 0
) -> str:
    now = utcnow()
    expire = now + (expires_delta or timedelta(minutes=settings.ACCESS_TOKEN_EXPIRE_MINUTES))
    payload: dict[str, Any] = {"sub": subject, "exp": expire, "iat": now, "ver": version}
    return jwt.encode(payload, settings.SECRET_KEY, algorithm=ALGORITHM)


def decode_access_token(token: str) -> AccessClaims | None:
    """The token's subject and version, or None when it is invalid or expired. The caller
    checks the version against the account's (a password change raises it)."""
    verified = _verify_signature(token)
    if verified is None:
        return None
    claims, expires_at = verified
    # The signature check is cached, the expiry is checked on every use.
    if expires_at is not None and expires_at <= time.time():
        return None
    return claims


@lru_cache(maxsize=4096)
def _verify_signature(token: str) -> tuple[AccessClaims, float | None] | None:
    """(claims, expiry) of a correctly signed token. Verifying an HS256 signature costs
    about as much as the rest of a status poll, and pollers send the same token every
    second: the outcome for one token string never changes, so it is cached."""
    try:
        payload = jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM])
    except jwt.PyJWTError:
        return None
    subject = payload.get("sub")
    expires_at = payload.get("exp")
    # Tokens issued before versions existed carry none: they are version 0.
    version = payload.get("ver", 0)
    if not isinstance(subject, str) or not isinstance(version, int):
        return None
    expiry = float(expires_at) if isinstance(expires_at, int | float) else None
    return AccessClaims(subject, version), expiry


# --- Personal API tokens -----------------------------------------------------------------

API_TOKEN_PREFIX = "seo_pat_"  # noqa: S105 - tells an API token from a JWT at a glance


def new_api_token() -> str:
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def api_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a bearer token says is calling, before the database confirms it: a login token's
    user and version, or an API token's digest. For the job-status poll, whose one SQL
    statement checks it (app/jobs/status.py)."""

    user_id: uuid.UUID | None = None
    token_version: int = 0
    api_token_digest: str | None = None
