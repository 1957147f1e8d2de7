"""A forward proxy on loopback that the render browser sends all its traffic through.

Request routing lets the renderer refuse a private URL before Chromium asks for it, but
Chromium would then resolve the name itself, so a DNS answer that changes in between
(rebinding) could still reach a private address. Through this proxy Chromium resolves
nothing: the proxy resolves, checks every address with the SSRF guard, and connects to the
address it checked, for plain HTTP (absolute-form requests) and for CONNECT tunnels (HTTPS,
WebSockets) alike.

It runs its own event loop in a daemon thread, one per render worker process.
"""

import asyncio
import contextlib
import threading
from urllib.parse import urlsplit

import structlog

from app.core.net_guard import AddressPolicy, AddressRefusedError, resolve_checked_async

log = structlog.get_logger(__name__)

MAX_HEAD_BYTES = 64 * 1024
CONNECT_TIMEOUT_SECONDS = 15.0
_HOP_BY_HOP = (b"proxy-connection", b"connection", b"keep-alive", b"proxy-authorization")


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while chunk := await reader.read(64 * 1024):
            writer.write(chunk)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(OSError, RuntimeError):
            writer.close()


class RenderProxy:
    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._server: asyncio.Server | None = None
        self.port = 0
        self.requests_seen = 0  # connections handled: shows the browser really uses it
        self._thread = threading.Thread(target=self._run, name="render-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "RenderProxy":
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("the render proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, "127.0.0.1", 0, limit=MAX_HEAD_BYTES)
        )
        self.port = int(self._server.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests_seen += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError):
            writer.close()
            return
        request_line, _, headers = head.partition(b"\r\n")
        try:
            method, target, version = request_line.split(b" ", 2)
        except ValueError:
            await self._refuse(writer, b"400 Bad Request")
            return
        if method == b"CONNECT":
            host, _, port_text = target.decode("latin-1").rpartition(":")
            port = int(port_text) if port_text.isdigit() else 443
            first_bytes = b""
        else:
            parts = urlsplit(target.decode("latin-1"))
            if parts.scheme != "http" or not parts.hostname:
                await self._refuse(writer, b"400 Bad Request")
                return
            host, port = parts.hostname, parts.port or 80
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            kept = [
                line
                for line in headers.split(b"\r\n")
                if line and line.split(b":", 1)[0].strip().lower() not in _HOP_BY_HOP
            ]
            # One request per tunnel: the browser opens another connection for the next.
            first_bytes = (
                b"\r\n".join(
                    [
                        b" ".join([method, path.encode("latin-1"), version]),
                        *kept,
                        b"Connection: close",
                    ]
                )
                + b"\r\n\r\n"
            )
        host = host.strip("[]")
        try:
            addresses = await resolve_checked_async(host, port, self._policy)
            async with asyncio.timeout(CONNECT_TIMEOUT_SECONDS):
                upstream_reader, upstream_writer = await asyncio.open_connection(addresses[0], port)
        except AddressRefusedError as exc:
            log.info("render request refused", host=host, reason=str(exc))
            await self._refuse(writer, b"403 Forbidden")
            return
        except (OSError, TimeoutError):
            await self._refuse(writer, b"502 Bad Gateway")
            return
        if method == b"CONNECT":
            writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        else:
            upstream_writer.write(first_bytes)
        await asyncio.gather(
            _pipe(reader, upstream_writer), _pipe(upstream_reader, writer), return_exceptions=True
        )

    @staticmethod
    async def _refuse(writer: asyncio.StreamWriter, status: bytes) -> None:
        with contextlib.suppress(OSError):
            writer.write(
                b"HTTP/1.1 " + status + b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
        writer.close()
