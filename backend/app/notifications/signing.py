"""Signatures: webhook bodies (HMAC-SHA256 over `timestamp.body`) and the signed links of
emails (confirm an address, unsubscribe), which work without logging in.

A receiver verifies a webhook like this (docs/architecture.md, "Notifications"):

    t, v1 = dict(p.split("=", 1) for p in header.split(","))["t"], ...["v1"]
    expected = hmac.new(secret, f"{t}.".encode() + raw_body, sha256).hexdigest()
    ok = hmac.compare_digest(expected, v1) and abs(time.time() - int(t)) <= 300

Rejecting timestamps older than a few minutes stops a captured request being replayed.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

from app.core.config import settings

SIGNATURE_HEADER = "X-Seo-Platform-Signature"
EVENT_HEADER = "X-Seo-Platform-Event"
DELIVERY_HEADER = "X-Seo-Platform-Delivery"
# How old a signed timestamp receivers should accept, seconds (documented, used by the tests).
SIGNATURE_TOLERANCE_SECONDS = 300


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign_webhook(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header's value: `t=<unix seconds>,v1=<hex HMAC-SHA256>`."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"


def verify_webhook(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        parts = dict(part.split("=", 1) for part in header.split(","))
        stamp = int(parts["t"])
        given = parts["v1"]
    except (KeyError, ValueError):
        return False
    expected = sign_webhook(secret, body, stamp).split("v1=", 1)[1]
    fresh = abs((time.time() if now is None else now) - stamp) <= tolerance
    return fresh and hmac.compare_digest(expected, given)


# --- Signed links -------------------------------------------------------------------------


def _link_key() -> bytes:
    return hashlib.sha256(
        b"seo-platform notification links\x00" + settings.SECRET_KEY.encode()
    ).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_link(purpose: str, claims: dict[str, Any]) -> str:
    """A token for a link: its claims, readable, and an HMAC binding them to `purpose`."""
    body = _b64(json.dumps({**claims, "$": purpose}, separators=(",", ":")).encode())
    mac = hmac.new(_link_key(), body.encode(), hashlib.sha256).digest()[:18]
    return f"{body}.{_b64(mac)}"


def read_link(purpose: str, token: str) -> dict[str, Any] | None:
    """The claims of a token made by sign_link for `purpose`, or None if it is not one."""
    body, _, mac = token.partition(".")
    try:
        expected = hmac.new(_link_key(), body.encode(), hashlib.sha256).digest()[:18]
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        claims = json.loads(_unb64(body))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(claims, dict) or claims.pop("$", None) != purpose:
        return None
    return claims
