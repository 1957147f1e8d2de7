"""google-auth as connections/google.py uses it: a service-account key checked, and an
access token fetched from a credential's token endpoint over httpx.

Kept apart and imported only when a credential is parsed or a token is fetched: google-auth
and the crypto it loads cost about 2 MB of RSS in every worker process, and the workers that
run audits and other jobs never call Google.
"""

from collections.abc import Mapping, Sequence
from datetime import UTC
from typing import Any

import google.auth.exceptions
import google.auth.transport
import httpx
from google.oauth2 import credentials as oauth_credentials
from google.oauth2 import service_account

from app.core.config import settings
from app.jobs.errors import PermanentJobError, TransientJobError


def check_service_account(info: Mapping[str, Any]) -> None:
    """Raises ValueError or TypeError when google-auth cannot use the key."""
    service_account.Credentials.from_service_account_info(dict(info))


class _HttpxResponse(google.auth.transport.Response):
    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self._response.headers

    @property
    def data(self) -> bytes:
        return self._response.content


class HttpxAuthRequest(google.auth.transport.Request):
    """google-auth's transport over httpx (the platform's one HTTP client)."""

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> google.auth.transport.Response:
        try:
            response = self._client.request(
                method,
                url,
                content=body,
                headers=dict(headers or {}),
                timeout=timeout or settings.PROVIDER_HTTP_TIMEOUT,
            )
        except httpx.HTTPError as exc:
            raise google.auth.exceptions.TransportError(f"{type(exc).__name__}: {exc}") from exc
        return _HttpxResponse(response)


def _describe_refresh_error(exc: google.auth.exceptions.RefreshError) -> tuple[str, str]:
    data = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], dict) else {}
    code = str(data.get("error") or "")
    text = str(exc.args[0]) if exc.args else str(exc)
    if not code:
        code = text.split(":", 1)[0].strip() if ":" in text else ""
    return code, text


def fetch_token(
    *,
    kind: str,
    info: Mapping[str, Any],
    account: str,
    scopes: Sequence[str],
    client: httpx.Client,
) -> tuple[str, float | None]:
    """(access token, its expiry as a timestamp when the endpoint said) for a parsed
    credential. Raises PermanentJobError (auth_failed: reconnect) when Google refuses the
    credential, TransientJobError when the endpoint cannot be reached or answers 5xx."""
    creds: service_account.Credentials | oauth_credentials.Credentials
    if kind == "service_account":
        creds = service_account.Credentials.from_service_account_info(
            dict(info), scopes=list(scopes)
        )
    else:
        creds = oauth_credentials.Credentials(
            token=None,
            refresh_token=info["refresh_token"],
            client_id=info["client_id"],
            client_secret=info["client_secret"],
            token_uri=info["token_uri"],
        )
    try:
        creds.refresh(HttpxAuthRequest(client))
    except google.auth.exceptions.RefreshError as exc:
        code, text = _describe_refresh_error(exc)
        if getattr(exc, "retryable", False):
            raise TransientJobError(
                f"Google's token endpoint failed ({text}); will retry", category="auth_unavailable"
            ) from exc
        raise PermanentJobError(
            f"Google refused the credential for {account} ({text or code}): reconnect the account",
            category="auth_failed",
        ) from exc
    except google.auth.exceptions.TransportError as exc:
        raise TransientJobError(
            f"Google's token endpoint could not be reached: {exc}", category="network"
        ) from exc
    expiry = creds.expiry.replace(tzinfo=UTC).timestamp() if creds.expiry else None
    return str(creds.token), expiry
