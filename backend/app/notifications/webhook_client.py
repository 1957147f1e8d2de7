"""Posting a webhook: through the SSRF guard (core/net_guard.py: every address the host
resolves to must be allowed, and the connection goes to the address that was checked),
redirects never followed (httpcore does not follow them), the answer read up to a cap, every
phase under a short timeout and the whole exchange under one deadline."""

import asyncio
import ssl
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpcore

from app.core.config import settings
from app.core.net_guard import (
    AddressPolicy,
    AddressRefusedError,
    GuardedNetworkBackend,
    resolve_checked,
)

RESPONSE_EXCERPT_BYTES = 1024
USER_AGENT = "SEOPlatform-Webhooks/1"


class WebhookUrlError(ValueError):
    """A webhook URL that cannot be used (scheme, host, or a private address)."""


def address_policy() -> AddressPolicy:
    return AddressPolicy.build(allow_private=settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS)


def check_url(url: str) -> str:
    """The URL if it is http(s) with a host that resolves to allowed addresses only; raises
    WebhookUrlError with a message for people otherwise. Checked again at every send."""
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket
        raise WebhookUrlError(f"the webhook URL is not valid: {exc}") from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise WebhookUrlError("the webhook URL must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise WebhookUrlError("the webhook URL must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise WebhookUrlError(f"the webhook URL's port is not valid: {exc}") from exc
    try:
        resolve_checked(hostname, port, address_policy())
    except AddressRefusedError as exc:
        raise WebhookUrlError(
            f"webhooks cannot be sent to {exc.host}: it resolves to {exc.address}, a private "
            "or reserved address"
        ) from exc
    except (OSError, ValueError) as exc:  # UnicodeError too: a label IDNA refuses
        raise WebhookUrlError(f"the webhook host {hostname} does not resolve") from exc
    return url.strip()


@dataclass(frozen=True, slots=True)
class WebhookResponse:
    status_code: int | None
    latency_ms: int
    excerpt: str | None
    retry_after: float | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def _retry_after(value: bytes | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value.decode().strip()))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        moment = parsedate_to_datetime(value.decode())
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


async def post_webhook(
    pool: httpcore.AsyncConnectionPool, url: str, body: bytes, headers: dict[str, str]
) -> WebhookResponse:
    """POSTs `body`; never raises for the receiver's failures (they are the answer)."""
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    started = time.monotonic()
    request_headers = [
        ("Host", urlsplit(url).netloc),
        ("User-Agent", USER_AGENT),
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        *headers.items(),
    ]
    try:
        async with asyncio.timeout(timeout * 2):  # the whole exchange, whatever trickles in
            async with pool.stream(
                "POST",
                url,
                headers=request_headers,
                content=body,
                extensions={
                    "timeout": {
                        "connect": timeout,
                        "read": timeout,
                        "write": timeout,
                        "pool": timeout,
                    }
                },
            ) as response:
                excerpt = bytearray()
                async for chunk in response.aiter_stream():
                    excerpt += chunk
                    if len(excerpt) >= RESPONSE_EXCERPT_BYTES:
                        break  # the rest is not read
                retry_after = _retry_after(
                    next((v for k, v in response.headers if k.lower() == b"retry-after"), None)
                )
                status = response.status
    except AddressRefusedError as exc:
        return _failure(started, f"refused: {exc}")
    except (TimeoutError, httpcore.TimeoutException):
        return _failure(started, f"timed out after {timeout:g} s")
    except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
        return _failure(started, f"connection failed: {str(exc)[:200] or type(exc).__name__}")
    except httpcore.UnsupportedProtocol as exc:
        return _failure(started, f"unsupported URL: {exc}")
    return WebhookResponse(
        status_code=status,
        latency_ms=_ms(started),
        excerpt=bytes(excerpt[:RESPONSE_EXCERPT_BYTES]).decode("utf-8", "replace"),
        retry_after=retry_after,
        error=None if 200 <= status < 300 else f"HTTP {status}",
    )


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _failure(started: float, error: str) -> WebhookResponse:
    return WebhookResponse(
        status_code=None, latency_ms=_ms(started), excerpt=None, retry_after=None, error=error[:500]
    )


class _CoalescedStream(httpcore.AsyncNetworkStream):
    """A connection whose writes wait for its next read: an HTTP/1.1 client writes a whole
    request, then reads the answer, so the request goes out in one send instead of one for
    the headers and one for the body (half the system calls, and half the wake-ups of the
    receiver)."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._pending = bytearray()

    async def _flush(self, timeout: float | None) -> None:  # noqa: ASYNC109
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            await self._stream.write(data, timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        self._pending += buffer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        await self._flush(timeout)
        return await self._stream.read(max_bytes, timeout)

    async def aclose(self) -> None:
        self._pending.clear()
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
    ) -> httpcore.AsyncNetworkStream:
        await self._flush(timeout)
        self._stream = await self._stream.start_tls(ssl_context, server_hostname, timeout)
        return self

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _Backend(GuardedNetworkBackend):
    """The SSRF guard's connections, each writing a request in one send."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await super().connect_tcp(host, port, timeout, local_address, socket_options)
        return _CoalescedStream(stream)


def new_pool(max_connections: int) -> httpcore.AsyncConnectionPool:
    """A pool for one sending pass; connections only through the SSRF guard."""
    return httpcore.AsyncConnectionPool(
        network_backend=_Backend(address_policy()),
        max_connections=max_connections,
        max_keepalive_connections=max_connections,
        keepalive_expiry=5.0,
        retries=0,
    )


class Pools:
    """The connection pools of one sending pass, one per webhook URL. httpcore's pool looks
    through all its connections and waiting requests at every request and every answer, so
    a single pool for 64 requests in flight spends its CPU on that bookkeeping (most of a
    sender's time under load); a pool per endpoint looks only through that endpoint's."""

    def __init__(self, max_connections: int) -> None:
        self.max_connections = max_connections
        self._pools: dict[str, httpcore.AsyncConnectionPool] = {}

    def for_url(self, url: str) -> httpcore.AsyncConnectionPool:
        pool = self._pools.get(url)
        if pool is None:
            pool = self._pools[url] = new_pool(self.max_connections)
        return pool

    async def __aenter__(self) -> "Pools":
        return self

    async def __aexit__(self, *_: object) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()
