"""Google APIs as every Google domain (Search Console, Ads) calls them: credentials, access
tokens, the shared rate limits, errors the way Google sends them, and the retries.

- **Credentials**: a service-account key (JSON, `type: service_account`) or an OAuth client
  with a refresh token (`{client_id, client_secret, refresh_token, token_uri?}`). Access
  tokens come from `google-auth`, over httpx, from the credential's own `token_uri`, which
  must be one of Google's token hosts (or a host the operator lists in GOOGLE_TOKEN_HOSTS: a
  user-supplied URL is otherwise a way to make the workers call anything). Tokens are cached
  per process until a minute before they expire. google-auth itself is imported only where
  a credential is checked or a token fetched (google_auth.py), not by every worker.
- **Errors**: `{"error": {"code", "message", "errors": [{"domain", "reason", "message"}],
  "status", "details"}}`, or the same inside a JSON array (Ads searchStream). Google Ads puts
  its own codes in `details[].errors[].errorCode` (`{"quotaError": "RESOURCE_EXHAUSTED"}`) and
  the wait in `retryDelay` ("30s").
- **Retries**: 429, 5xx, 403 `rateLimitExceeded`/`userRateLimitExceeded`/`quotaExceeded`,
  Ads `RESOURCE_EXHAUSTED`/`RESOURCE_TEMPORARILY_EXHAUSTED`, timeouts and connection errors
  are retried within the call (Retry-After or retryDelay honoured, else exponential backoff
  with full jitter), PROVIDER_MAX_RETRIES times; a wait longer than PROVIDER_RETRY_MAX_SECONDS
  becomes a TransientJobError, so the job runtime retries the job later instead of holding a
  worker. 401 (after one fresh token), other 403s and 4xx fail at once with what to fix.
"""

import hashlib
import json
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.core.config import settings
from app.core.token_bucket import Bucket, RateLimitWaitTooLongError, TokenBuckets
from app.jobs.errors import PermanentJobError, TransientJobError, parse_retry_after

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"  # noqa: S105 - a URL
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})

RETRYABLE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded"})
RETRYABLE_ADS_CODES = frozenset({"RESOURCE_EXHAUSTED", "RESOURCE_TEMPORARILY_EXHAUSTED"})


class CredentialInvalidError(ValueError):
    """The credential given is not a usable Google credential (answered 422)."""


@dataclass(frozen=True, slots=True)
class GoogleCredential:
    """A parsed credential: `info` is what is stored (encrypted), `account` is who it is, for
    people (a service account's email, or the OAuth client)."""

    kind: str  # "service_account" | "oauth"
    info: Mapping[str, Any]
    account: str

    @property
    def fingerprint(self) -> str:
        raw = json.dumps(dict(self.info), sort_keys=True).encode()
        return hashlib.sha256(raw).hexdigest()[:24]


def _text(info: Mapping[str, Any], name: str, *, limit: int = 8192) -> str:
    value = info.get(name)
    if not isinstance(value, str) or not value.strip():
        raise CredentialInvalidError(f"the credential has no {name}")
    if len(value) > limit:
        raise CredentialInvalidError(f"the credential's {name} is too long")
    return value.strip()


def check_token_uri(uri: str) -> str:
    """The token endpoint a credential names, if it is one the workers may call."""
    parts = urlsplit(uri)
    host = (parts.hostname or "").lower()
    allowed = {h.lower() for h in settings.GOOGLE_TOKEN_HOSTS}
    if host not in allowed:
        raise CredentialInvalidError(
            f"token_uri must be Google's token endpoint ({GOOGLE_TOKEN_URI}), not {host or uri!r}"
        )
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        raise CredentialInvalidError("token_uri must be an https URL")
    return uri


def parse_credential(value: Mapping[str, Any]) -> GoogleCredential:
    """A service-account key or an OAuth refresh-token credential, checked (not yet tried)."""
    if value.get("type") == "service_account":
        email = _text(value, "client_email", limit=320)
        private_key = _text(value, "private_key", limit=16384)
        if "PRIVATE KEY" not in private_key:
            raise CredentialInvalidError("the service account's private_key is not a PEM key")
        info = {
            "type": "service_account",
            "client_email": email,
            "private_key": private_key,
            "private_key_id": str(value.get("private_key_id") or ""),
            "client_id": str(value.get("client_id") or ""),
            "project_id": str(value.get("project_id") or ""),
            "token_uri": check_token_uri(str(value.get("token_uri") or GOOGLE_TOKEN_URI)),
        }
        from app.connections import google_auth  # google-auth only where it is used

        try:
            google_auth.check_service_account(info)
        except (ValueError, TypeError) as exc:
            raise CredentialInvalidError(f"the service-account key is not valid: {exc}") from exc
        return GoogleCredential(kind="service_account", info=info, account=email)
    if "refresh_token" in value or "client_id" in value:
        client_id = _text(value, "client_id", limit=512)
        info = {
            "client_id": client_id,
            "client_secret": _text(value, "client_secret", limit=512),
            "refresh_token": _text(value, "refresh_token", limit=2048),
            "token_uri": check_token_uri(str(value.get("token_uri") or GOOGLE_TOKEN_URI)),
        }
        return GoogleCredential(kind="oauth", info=info, account=f"OAuth client {client_id}")
    raise CredentialInvalidError(
        "credentials must be a service-account key (JSON with type service_account) or "
        "{client_id, client_secret, refresh_token, token_uri?}"
    )


# --- Access tokens ---------------------------------------------------------------------------


_tokens: dict[tuple[str, tuple[str, ...]], tuple[str, float]] = {}
_tokens_lock = threading.Lock()


def access_token(
    credential: GoogleCredential,
    scopes: Sequence[str],
    client: httpx.Client,
    *,
    fresh: bool = False,
) -> str:
    """An access token for `scopes`, from the cache or the credential's token endpoint.
    Raises PermanentJobError (auth_failed: reconnect) when Google refuses the credential,
    TransientJobError when the endpoint cannot be reached or answers 5xx."""
    key = (credential.fingerprint, tuple(scopes))
    now = time.time()
    if not fresh:
        with _tokens_lock:
            cached = _tokens.get(key)
        if cached is not None and cached[1] - 60 > now:
            return cached[0]
    from app.connections import google_auth  # google-auth only where tokens are fetched

    token, expiry = google_auth.fetch_token(
        kind=credential.kind,
        info=credential.info,
        account=credential.account,
        scopes=scopes,
        client=client,
    )
    if expiry is None:
        expiry = now + 3000
    with _tokens_lock:
        _tokens[key] = (token, expiry)
    return token


def forget_token(credential: GoogleCredential, scopes: Sequence[str]) -> None:
    with _tokens_lock:
        _tokens.pop((credential.fingerprint, tuple(scopes)), None)


# --- Errors ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GoogleError:
    """A Google API error, whichever of its shapes it arrived in."""

    http_status: int
    message: str
    status: str = ""
    reasons: frozenset[str] = frozenset()  # errors[].reason and Ads errorCode values
    retry_delay: float | None = None  # Ads retryDelay / RetryInfo, seconds
    details: Sequence[Mapping[str, Any]] = field(default_factory=tuple)

    @property
    def retryable(self) -> bool:
        return (
            self.http_status == 429
            or self.http_status >= 500
            or bool(self.reasons & RETRYABLE_REASONS)
            or bool(self.reasons & RETRYABLE_ADS_CODES)
            or self.status in RETRYABLE_ADS_CODES
        )

    def describe(self) -> str:
        head = f"HTTP {self.http_status}"
        if self.status:
            head += f" {self.status}"
        return f"{head}: {self.message}" if self.message else head


def _duration(value: object) -> float | None:
    """`"30s"` / `"1.5s"` (protobuf Duration in JSON) to seconds."""
    if isinstance(value, str) and value.endswith("s"):
        try:
            return max(0.0, float(value[:-1]))
        except ValueError:
            return None
    if isinstance(value, dict):  # {"seconds": "30", "nanos": 0}
        try:
            return float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            return None
    return None


def parse_error(
    http_status: int, body: bytes, headers: Mapping[str, str] | None = None
) -> GoogleError:
    """The error in a non-2xx answer. Bodies that are not Google's JSON (a proxy's HTML page,
    truncated JSON) still give an error with the status and the start of the body."""
    try:
        document: Any = json.loads(body) if body else None
    except ValueError:
        document = None
    if isinstance(document, list) and document and isinstance(document[0], dict):
        document = document[0]
    error = document.get("error") if isinstance(document, dict) else None
    retry_after = parse_retry_after((headers or {}).get("retry-after"))
    if not isinstance(error, dict):
        snippet = body[:200].decode("utf-8", "replace").strip()
        return GoogleError(http_status=http_status, message=snippet, retry_delay=retry_after)
    reasons: set[str] = set()
    for item in error.get("errors") or ():
        if isinstance(item, dict) and isinstance(item.get("reason"), str):
            reasons.add(item["reason"])
    delay = retry_after
    messages: list[str] = []
    details = [d for d in error.get("details") or () if isinstance(d, dict)]
    for detail in details:
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            delay = _duration(detail.get("retryDelay")) or delay
        for failure in detail.get("errors") or ():  # GoogleAdsFailure
            if not isinstance(failure, dict):
                continue
            codes = failure.get("errorCode")
            if isinstance(codes, dict):
                reasons.update(str(v) for v in codes.values())
            if isinstance(failure.get("message"), str):
                messages.append(failure["message"])
            quota = (failure.get("details") or {}).get("quotaErrorDetails") or {}
            if isinstance(quota, dict) and quota.get("retryDelay") is not None:
                delay = _duration(quota["retryDelay"]) or delay
    message = str(error.get("message") or "")
    if messages and messages[0] not in message:
        message = f"{message} ({'; '.join(messages[:3])})" if message else "; ".join(messages[:3])
    return GoogleError(
        http_status=int(error.get("code") or http_status),
        message=message[:1000],
        status=str(error.get("status") or ""),
        reasons=frozenset(reasons),
        retry_delay=delay,
        details=tuple(details),
    )


class GoogleApiError(PermanentJobError):
    """A Google API refused the call for good; `error` says why, the message what to fix."""

    def __init__(self, message: str, error: GoogleError, *, category: str) -> None:
        super().__init__(message, category=category)
        self.error = error


def permanent_error(error: GoogleError, what: str, account: str) -> GoogleApiError:
    """The default wording for a refusal; domains word their own for the cases they know."""
    if error.http_status == 401:
        return GoogleApiError(
            f"{what}: Google did not accept the credential of {account} ({error.describe()}): "
            "reconnect the account",
            error,
            category="auth_failed",
        )
    if error.http_status == 403:
        return GoogleApiError(
            f"{what}: {account} is not allowed to do this ({error.describe()})",
            error,
            category="permission_denied",
        )
    return GoogleApiError(f"{what}: {error.describe()}", error, category="invalid_input")


# --- Calls -----------------------------------------------------------------------------------


def backoff_seconds(retry: int, *, base: float = 1.0, cap: float | None = None) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2**retry)]."""
    ceiling = min(cap if cap is not None else settings.PROVIDER_RETRY_MAX_SECONDS, base * 2**retry)
    return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret


@dataclass(slots=True)
class GoogleSession:
    """Calls to one Google API as one credential, under shared rate limits.

    `buckets` are taken before every call (every worker shares them); `checkpoint` runs
    before every wait (a job's cancel check); `sleep` is how waits happen."""

    credential: GoogleCredential
    scopes: Sequence[str]
    client: httpx.Client
    buckets: Sequence[Bucket] = ()
    limiter: TokenBuckets | None = None
    checkpoint: Callable[[], None] | None = None
    sleep: Callable[[float], None] = time.sleep
    max_retries: int = field(default_factory=lambda: settings.PROVIDER_MAX_RETRIES)
    max_wait: float = field(default_factory=lambda: settings.PROVIDER_RETRY_MAX_SECONDS)
    retries: int = 0  # retried calls so far (reported in job results)
    waited_for_limit: float = 0.0  # seconds spent waiting for the shared rate limit

    def _wait(self, seconds: float) -> None:
        if self.checkpoint is not None:
            self.checkpoint()
        if seconds > 0:
            self.sleep(seconds)

    def _take_token(self) -> None:
        if not self.buckets:
            return
        limiter = self.limiter or TokenBuckets()
        self.limiter = limiter
        try:
            self.waited_for_limit += limiter.take(
                self.buckets, max_wait=self.max_wait, sleep=self._wait
            )
        except RateLimitWaitTooLongError as exc:
            raise TransientJobError(
                f"the shared rate limit allows no call for {exc.wait_seconds:.0f} s",
                retry_after=exc.wait_seconds,
                category="rate_limited",
            ) from exc

    def request(
        self,
        method: str,
        url: str,
        *,
        what: str,
        json_body: object = None,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> bytes:
        """The body of a 2xx answer (at most MAX_RESPONSE_BYTES). `what` names the call in
        messages ("Search Console query for sc-domain:example.com")."""
        refreshed = False
        attempt = 0
        while True:
            self._take_token()
            token = access_token(self.credential, self.scopes, self.client, fresh=refreshed)
            try:
                status, body, response_headers = self._send(
                    method, url, token=token, json_body=json_body, headers=headers, params=params
                )
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                error = GoogleError(http_status=0, message=f"{type(exc).__name__}: {exc}")
                attempt = self._retry_or_raise(error, attempt, what, cause=exc)
                continue
            if 200 <= status < 300:
                return body
            error = parse_error(status, body, response_headers)
            if status == 401 and not refreshed:
                # The cached token may have been revoked or expired early: one fresh try.
                forget_token(self.credential, self.scopes)
                refreshed = True
                continue
            if not error.retryable:
                raise permanent_error(error, what, self.credential.account)
            attempt = self._retry_or_raise(error, attempt, what)

    def _send(
        self,
        method: str,
        url: str,
        *,
        token: str,
        json_body: object,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
    ) -> tuple[int, bytes, httpx.Headers]:
        request_headers = {"Authorization": f"Bearer {token}", **(headers or {})}
        content = None
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":")).encode()
            request_headers["Content-Type"] = "application/json"
        with self.client.stream(
            method, url, content=content, headers=request_headers, params=params
        ) as response:
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise PermanentJobError(
                        f"Google answered more than {MAX_RESPONSE_BYTES // 2**20} MB for one "
                        "call; narrow the request",
                        category="provider_error",
                    )
                chunks.append(chunk)
            return response.status_code, b"".join(chunks), response.headers

    def _retry_or_raise(
        self, error: GoogleError, attempt: int, what: str, *, cause: Exception | None = None
    ) -> int:
        category = (
            "rate_limited"
            if error.http_status in (403, 429) or error.reasons
            else ("network" if error.http_status == 0 else "provider_unavailable")
        )
        wait = error.retry_delay if error.retry_delay is not None else backoff_seconds(attempt)
        if attempt >= self.max_retries or wait > self.max_wait:
            raise TransientJobError(
                f"{what}: {error.describe() if error.http_status else error.message}"
                f" (after {attempt + 1} tries)",
                retry_after=error.retry_delay,
                category=category,
            ) from cause
        self.retries += 1
        self._wait(wait)
        return attempt + 1


def response_json(body: bytes, what: str) -> Any:
    """A 2xx body as JSON; a malformed one is a provider fault worth a later retry."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise TransientJobError(
            f"{what}: Google's answer is not valid JSON ({len(body)} bytes)",
            category="provider_error",
        ) from exc
