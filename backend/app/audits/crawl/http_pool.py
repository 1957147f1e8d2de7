"""The crawler's HTTP transport: httpx requests and responses over httpcore's HTTP/1.1
connections, kept in one small pool of our own.

httpcore's general-purpose pool re-examines every connection for every queued request
(`_assign_requests_to_connections`); at a crawler's 32 busy connections that bookkeeping
cost about a third of the crawl's CPU. A crawler's needs are simpler: a bounded number of
connections in all, and idle keep-alive connections per origin, last in first out.
All connections are opened through the SSRF guard's network backend.
"""

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

import httpcore
import httpx

from app.core.net_guard import AddressPolicy, GuardedNetworkBackend

KEEPALIVE_SECONDS = 5.0
_Origin = tuple[bytes, bytes, int]


def _to_httpx_error(
    exc: httpcore.TimeoutException | httpcore.NetworkError | httpcore.ProtocolError,
) -> httpx.TransportError:
    message = str(exc) or type(exc).__name__
    if isinstance(exc, httpcore.TimeoutException):
        return httpx.TimeoutException(message)
    if isinstance(exc, httpcore.ConnectError):
        return httpx.ConnectError(message)
    if isinstance(exc, httpcore.ProtocolError):
        return httpx.RemoteProtocolError(message)
    return httpx.ReadError(message)


_CORE_ERRORS = (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError)


class _ResponseStream(httpx.AsyncByteStream):
    """The body of one response; closing it gives the connection back to the pool."""

    def __init__(
        self,
        pool: "CrawlTransport",
        origin: _Origin,
        connection: httpcore.AsyncHTTP11Connection,
        response: httpcore.Response,
    ) -> None:
        self._pool = pool
        self._origin = origin
        self._connection = connection
        self._response = response
        self._closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_stream():
                yield chunk
        except _CORE_ERRORS as exc:
            raise _to_httpx_error(exc) from exc

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._response.aclose()
        finally:
            await self._pool._release(self._origin, self._connection)


class CrawlTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        policy: AddressPolicy,
        *,
        max_connections: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._backend = GuardedNetworkBackend(policy)
        self._ssl_context = ssl_context or ssl.create_default_context()
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: dict[_Origin, list[httpcore.AsyncHTTP11Connection]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.raw_scheme
        port = url.port or (443 if scheme == b"https" else 80)
        origin: _Origin = (scheme, url.raw_host, port)
        timeouts = request.extensions.get("timeout", {})
        await self._slots.acquire()
        connection: httpcore.AsyncHTTP11Connection | None = None
        try:
            connection = await self._idle_connection(origin) or await self._connect(
                origin, timeouts
            )
            core_request = httpcore.Request(
                method=request.method,
                url=httpcore.URL(scheme=scheme, host=url.raw_host, port=port, target=url.raw_path),
                headers=request.headers.raw,
                extensions={"timeout": timeouts},
            )
            response = await connection.handle_async_request(core_request)
        except BaseException as exc:
            if connection is not None:
                with contextlib.suppress(Exception):
                    await connection.aclose()
            self._slots.release()
            if isinstance(exc, _CORE_ERRORS):
                raise _to_httpx_error(exc) from exc
            raise
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(self, origin, connection, response),
            extensions=response.extensions,
        )

    async def _idle_connection(self, origin: _Origin) -> httpcore.AsyncHTTP11Connection | None:
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.is_idle() and not connection.has_expired():
                return connection
            with contextlib.suppress(Exception):  # closed by the server, or too old
                await connection.aclose()
        return None

    async def _connect(
        self, origin: _Origin, timeouts: dict[str, float | None]
    ) -> httpcore.AsyncHTTP11Connection:
        scheme, host, port = origin
        hostname = host.decode("ascii")
        stream = await self._backend.connect_tcp(hostname, port, timeout=timeouts.get("connect"))
        if scheme == b"https":
            stream = await stream.start_tls(
                self._ssl_context, server_hostname=hostname, timeout=timeouts.get("connect")
            )
        return httpcore.AsyncHTTP11Connection(
            origin=httpcore.Origin(scheme, host, port),
            stream=stream,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )

    async def _release(self, origin: _Origin, connection: httpcore.AsyncHTTP11Connection) -> None:
        self._slots.release()
        if connection.is_idle():
            self._idle.setdefault(origin, []).append(connection)
        else:
            with contextlib.suppress(Exception):
                await connection.aclose()

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                with contextlib.suppress(Exception):
                    await connection.aclose()
        self._idle.clear()
