"""The links messages carry: the dashboard's pages, and signed links that work without
logging in (confirm an address, unsubscribe)."""

import uuid
from urllib.parse import urlencode

from app.core.config import settings
from app.notifications import signing

CONFIRM = "confirm"
UNSUBSCRIBE = "unsubscribe"


def dashboard(path: str) -> str:
    return settings.PUBLIC_URL.rstrip("/") + path


def _api(path: str, token: str) -> str:
    base = settings.PUBLIC_URL.rstrip("/") + settings.API_V1_STR
    return f"{base}{path}?{urlencode({'token': token})}"


def confirm_recipient(recipient_id: uuid.UUID, email: str) -> str:
    return _api(
        "/notifications/confirm", signing.sign_link(CONFIRM, {"r": str(recipient_id), "e": email})
    )


def unsubscribe_recipient(recipient_id: uuid.UUID) -> str:
    return _api(
        "/notifications/unsubscribe", signing.sign_link(UNSUBSCRIBE, {"r": str(recipient_id)})
    )


def unsubscribe_project(user_id: uuid.UUID, project_id: uuid.UUID) -> str:
    """The owner's link: mutes the project's emails for them."""
    token = signing.sign_link(UNSUBSCRIBE, {"u": str(user_id), "p": str(project_id)})
    return _api("/notifications/unsubscribe", token)


def unsubscribe_digest(user_id: uuid.UUID) -> str:
    return _api(
        "/notifications/unsubscribe", signing.sign_link(UNSUBSCRIBE, {"u": str(user_id), "d": 1})
    )
