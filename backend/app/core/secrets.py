"""Secrets at rest: third-party credentials are stored encrypted with Fernet (AES-128-CBC and
HMAC-SHA256, from `cryptography`).

Keys come from `CREDENTIALS_ENCRYPTION_KEYS`, newest first. Everything is encrypted with the
first key and decrypted with whichever key fits (`MultiFernet`), so a key is rotated by
putting a new one in front, running `seo-platform rotate-credentials` (re-encrypts every
stored secret with the new key) and then dropping the old one. With no key set (a developer's
machine, the tests) one is derived from SECRET_KEY; staging and production refuse to start
without an explicit key (config.py), because a SECRET_KEY rotation must not make every stored
credential unreadable.
"""

import base64
import hashlib
import json
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from app.core.config import settings


class SecretUnreadableError(Exception):
    """A stored secret no configured key decrypts (a key was dropped too early)."""


def derived_key(secret_key: str) -> bytes:
    """A Fernet key derived from SECRET_KEY, for local and test runs only."""
    digest = hashlib.sha256(b"seo-platform credentials\x00" + secret_key.encode()).digest()
    return base64.urlsafe_b64encode(digest)


@lru_cache(maxsize=4)
def _box(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _keys() -> tuple[str, ...]:
    configured = tuple(settings.CREDENTIALS_ENCRYPTION_KEYS)
    return configured or (derived_key(settings.SECRET_KEY).decode(),)


def encrypt_json(value: dict[str, Any]) -> bytes:
    return _box(_keys()).encrypt(json.dumps(value, separators=(",", ":")).encode())


def decrypt_json(token: bytes) -> dict[str, Any]:
    try:
        plain = _box(_keys()).decrypt(bytes(token))
    except InvalidToken as exc:
        raise SecretUnreadableError(
            "a stored credential cannot be decrypted with the configured keys "
            "(CREDENTIALS_ENCRYPTION_KEYS): keep the old key listed until "
            "`seo-platform rotate-credentials` has run"
        ) from exc
    value = json.loads(plain)
    if not isinstance(value, dict):
        raise SecretUnreadableError("a stored credential is not a JSON object")
    return value


def rotate(token: bytes) -> bytes:
    """The same secret encrypted with the first key (unchanged plaintext, new token)."""
    try:
        return _box(_keys()).rotate(bytes(token))
    except InvalidToken as exc:
        raise SecretUnreadableError("a stored credential no configured key decrypts") from exc
