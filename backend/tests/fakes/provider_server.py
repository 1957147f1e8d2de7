"""The HTTP plumbing the fake rank providers share (tests/fakes/serpapi.py, dataforseo.py):
a threaded local server, scripted faults (`fail(path_regex, Reply, times=)`), a delay for
every answer (timeouts, the benchmark), a request log and the most requests seen in flight."""

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(slots=True)
class Reply:
    status: int = 200
    body: bytes | str | Any = b""  # bytes/str sent as is; anything else as JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


@dataclass(slots=True)
class Call:
    method: str
    path: str  # without the query
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


class FakeProviderServer:
    def __init__(self) -> None:
        self.requests: list[Call] = []
        self.delay = 0.0  # seconds before every answer
        self.in_flight = 0
        self.most_in_flight = 0
        self._faults: list[tuple[re.Pattern[str], Reply]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.request_queue_size = 128
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, pattern: str, reply: Reply, *, times: int = 1) -> None:
        with self._lock:
            self._faults.extend((re.compile(pattern), reply) for _ in range(times))

    def calls(self, pattern: str = "") -> list[Call]:
        regex = re.compile(pattern)
        with self._lock:
            return [c for c in self.requests if regex.search(c.path)]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._faults.clear()
            self.most_in_flight = 0
        self.delay = 0.0

    def start(self) -> "FakeProviderServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def answer(self, call: Call) -> Reply:  # pragma: no cover - each fake's own
        raise NotImplementedError

    def _reply(self, call: Call) -> Reply:
        with self._lock:
            for index, (pattern, reply) in enumerate(self._faults):
                if pattern.search(call.path):
                    del self._faults[index]
                    return reply
        return self.answer(call)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                call = Call(
                    method=self.command,
                    path=parts.path,
                    query={k: v[0] for k, v in parse_qs(parts.query).items()},
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with fake._lock:
                    fake.requests.append(call)
                    fake.in_flight += 1
                    fake.most_in_flight = max(fake.most_in_flight, fake.in_flight)
                try:
                    reply = fake._reply(call)
                    delay = reply.delay or fake.delay
                    if delay:
                        time.sleep(delay)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1
                payload = reply.payload()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json; charset=utf-8", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


def filler_urls(query: str, count: int) -> list[str]:
    """Results on other sites, for positions a test does not care about."""
    slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-") or "q"
    return [f"https://site{n}.example.org/{slug}" for n in range(1, count + 1)]
