"""The webhook receivers of bench/notifications_load.py, as a process of their own (they
stand for other companies' servers, so they must not take CPU from the jobs measured: the
benchmark starts this under `nice`). POST /fast-a, /fast-b answer at once, /slow after
SLOW_SECONDS; GET /stats answers how many times each (path, event id) was received and how
many times answered (a request whose sender gave up before the answer was written counts as
received only), POST /reset forgets.

Run:  python -m bench.webhook_receiver PORT
"""

import json
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SLOW_SECONDS = 2.0

answered: Counter[str] = Counter()
received: Counter[str] = Counter()
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        with lock:
            body = json.dumps({"answered": answered, "received": received}).encode()
        self._send(200, body)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path == "/reset":
            with lock:
                answered.clear()
                received.clear()
            self._send(200, b"{}")
            return
        key = f"{self.path} {self.headers.get('X-Seo-Platform-Delivery', '').split(':')[0]}"
        with lock:
            received[key] += 1
        if self.path == "/slow":
            time.sleep(SLOW_SECONDS)
        self._send(200, b'{"ok":true}')
        with lock:
            answered[key] += 1

    def log_message(self, *args: Any) -> None:
        pass


class Server(ThreadingHTTPServer):
    # The listen backlog is taken when the server is made (socketserver's default is 5): a
    # sender opening dozens of connections at once would otherwise see SYNs dropped and
    # retried after 1 s, 3 s, ... and time out against a receiver that is not slow.
    request_queue_size = 1024
    daemon_threads = True


def main() -> None:
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()


if __name__ == "__main__":
    main()
