"""A website on loopback for crawler, renderer and check tests.

`SiteServer` serves a dict of path -> `Route` (status, headers, body or a body made as it is
sent, optional delay) from a thread, over HTTP/1.1 with keep-alive, on a free port, and logs
every request it gets:

    with SiteServer({"/": html_page("<a href='/a'>a</a>")}) as site:
        site.add("/a", Route(status=404))
        ... crawl site.url ...
        assert "/a" in site.requested_paths
"""

import gzip
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(slots=True)
class Route:
    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"
    delay: float = 0.0  # seconds before the response starts
    # Send the body in pieces with a pause between them (a page that trickles in).
    chunk_delay: float = 0.0
    chunks: int = 1
    # False: no Content-Length, the body ends when the connection closes.
    send_length: bool = True
    # A body made as it is sent, piece by piece (instead of `body`): sent without a
    # Content-Length (unless `headers` gives one), ending when the connection closes; the
    # server stops making it once the client hangs up.
    stream: Callable[[], Iterator[bytes]] | None = None

    def payload(self) -> bytes:
        return self.body.encode() if isinstance(self.body, str) else self.body


def html_page(body: str = "", *, title: str | None = "Page", head: str = "") -> Route:
    title_tag = f"<title>{title}</title>" if title is not None else ""
    return Route(
        body=f"<!doctype html><html lang='en'><head>{title_tag}{head}</head>"
        f"<body>{body}</body></html>"
    )


def redirect(location: str, status: int = 301) -> Route:
    return Route(status=status, headers={"Location": location}, content_type="text/html")


def gzipped(route: Route) -> Route:
    return Route(
        status=route.status,
        body=gzip.compress(route.payload()),
        headers=route.headers,
        content_type="application/gzip",
    )


@dataclass(slots=True)
class Request:
    path: str
    user_agent: str


class SiteServer:
    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._host = host
        self._server = ThreadingHTTPServer((host, 0), self._handler_class())
        self._server.daemon_threads = True
        self._scheme = "http"
        if tls is not None:
            # Each connection's handshake in its own handler thread, not in the accepting
            # one: a slow client must not hold up every other connection.
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self._scheme = "https"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """`http://HOST:PORT` (no trailing slash)."""
        return f"{self._scheme}://{self._host}:{self.port}"

    @property
    def requested_paths(self) -> list[str]:
        with self._lock:
            return [request.path for request in self.requests]

    def add(self, path: str, route: Route) -> None:
        self.routes[path] = route

    def start(self) -> "SiteServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "SiteServer":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with site._lock:
                    site.requests.append(Request(self.path, self.headers.get("User-Agent", "")))
                route = site.routes.get(self.path) or site.routes.get(self.path.split("?")[0])
                if route is None:
                    route = Route(status=404, body="<html><body>Not found</body></html>")
                if route.delay:
                    time.sleep(route.delay)
                payload = route.payload()
                try:
                    self.send_response(route.status)
                    self.send_header("Content-Type", route.content_type)
                    if route.stream is not None:
                        self._send_stream(route, route.stream)
                        return
                    if route.send_length:
                        self.send_header("Content-Length", str(len(payload)))
                    else:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    for name, value in route.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self._write_body(route, payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send_stream(self, route: Route, stream: Callable[[], Iterator[bytes]]) -> None:
                self.send_header("Connection", "close")
                self.close_connection = True
                for name, value in route.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                for piece in stream():
                    self.wfile.write(piece)

            def _write_body(self, route: Route, payload: bytes) -> None:
                if route.chunks <= 1:
                    self.wfile.write(payload)
                    return
                size = max(1, len(payload) // route.chunks)
                for start in range(0, len(payload), size):
                    self.wfile.write(payload[start : start + size])
                    self.wfile.flush()
                    time.sleep(route.chunk_delay)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


def serve(routes: Mapping[str, Route]) -> Iterator[SiteServer]:
    """For pytest fixtures: `yield from serve({...})`."""
    with SiteServer(routes) as site:
        yield site
