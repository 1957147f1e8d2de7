"""A real local webhook receiver: verifies each request's signature and timestamp the way
the docs tell receivers to, and answers from a script (500s, slow answers, 429 with
Retry-After), recording everything it saw."""

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from app.notifications import signing


@dataclass
class Reply:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (a slow or hung receiver)


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float  # arrival
    answered: int

    @property
    def payload(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.body)
        return result


class WebhookReceiver:
    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}  # path -> secret
        self.script: deque[Reply] = deque()
        self.default = Reply()
        self.seen: list[Seen] = []
        self.arrivals = 0  # requests that reached the handler, answered or not yet
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.time()
                with receiver._changed:
                    receiver.arrivals += 1
                    receiver._changed.notify_all()
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    reply = receiver.script.popleft() if receiver.script else receiver.default
                secret = receiver.secrets.get(self.path)
                verified = secret is not None and signing.verify_webhook(
                    secret, body, self.headers.get(signing.SIGNATURE_HEADER, "")
                )
                if reply.delay:
                    time.sleep(reply.delay)
                status = reply.status if verified else 401
                try:
                    self.send_response(status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    status = -1  # the sender hung up first (its timeout)
                with receiver._changed:
                    receiver.seen.append(
                        Seen(self.path, dict(self.headers), body, verified, arrived, status)
                    )
                    receiver._changed.notify_all()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.secrets.clear()
            self.script.clear()
            self.default = Reply()
            self.seen.clear()
            self.arrivals = 0

    def wait_for_arrivals(self, count: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while self.arrivals < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{self.arrivals} of {count} requests arrived")
                self._changed.wait(left)

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Seen]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.seen) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"saw {len(self.seen)} of {count} requests")
                self._changed.wait(left)
            return sorted(self.seen, key=lambda seen: seen.at)  # in order of arrival
