"""A local stand-in for Google's servers: the OAuth token endpoint and whatever API routes a
test (or a domain's fake, e.g. tests/fakes/gsc.py) registers, speaking Google's formats.

- `POST /token` grants access tokens the way oauth2.googleapis.com does: `grant_type=
  refresh_token` for OAuth clients it knows (unknown or revoked refresh tokens: 400
  `invalid_grant`), and `urn:ietf:params:oauth:grant-type:jwt-bearer` for service accounts
  (the assertion's RS256 signature is verified against the keys of `service_account()`).
- API routes are `(method, regex) -> handler(request) -> Reply`; a handler sees the caller's
  account through `request.account` (from the bearer token), or answers 401 by default.
- `fail(path_regex, Reply, times=n)` makes the next n matching calls fail (scripted faults),
  before any handler runs; `requests` logs every call.
"""

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass(slots=True)
class Reply:
    status: int = 200
    body: bytes | str | Any = b""  # bytes/str sent as is; anything else as JSON
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (timeouts)

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":")).encode()


@dataclass(slots=True)
class Call:
    method: str
    path: str  # raw path, percent-encoding kept
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: bytes
    account: str | None = None  # who the bearer token belongs to
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        return json.loads(self.body)


Handler = Callable[[Call, "re.Match[str]"], Reply]


def google_error(
    code: int,
    message: str,
    status: str,
    *,
    reason: str | None = None,
    domain: str = "global",
    details: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Google's error body: {"error": {"code", "message", "errors": [...], "status"}}."""
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if reason is not None:
        error["errors"] = [{"message": message, "domain": domain, "reason": reason}]
    if details is not None:
        error["details"] = details
    return {"error": error}


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class FakeGoogle:
    def __init__(self, port: int = 0) -> None:
        self.requests: list[Call] = []
        self.refresh_tokens: dict[str, str] = {}  # refresh token -> account
        self.service_accounts: dict[str, rsa.RSAPublicKey] = {}  # email -> public key
        self.tokens: dict[str, str] = {}  # access token -> account
        self.token_lifetime = 3600
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[tuple[re.Pattern[str], Reply]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    # --- set-up --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def token_uri(self) -> str:
        return f"{self.url}/token"

    def oauth_client(self, account: str = "owner@example.com") -> dict[str, str]:
        """An OAuth credential this server honours (refresh token grant)."""
        refresh_token = f"1//refresh-{secrets.token_hex(8)}"
        self.refresh_tokens[refresh_token] = account
        return {
            "client_id": f"{secrets.token_hex(6)}.apps.googleusercontent.com",
            "client_secret": "GOCSPX-" + secrets.token_hex(8),
            "refresh_token": refresh_token,
            "token_uri": self.token_uri,
        }

    def service_account(
        self, email: str = "sync@seo-project.iam.gserviceaccount.com"
    ) -> dict[str, str]:
        """A service-account key file (JSON) whose signature this server verifies."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.service_accounts[email] = key.public_key()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": "seo-project",
            "private_key_id": secrets.token_hex(20),
            "private_key": pem,
            "client_email": email,
            "client_id": str(secrets.randbelow(10**20)),
            "token_uri": self.token_uri,
        }

    def revoke(self, credential: Mapping[str, str]) -> None:
        """The refresh token (or service account) stops working: invalid_grant from now on."""
        self.refresh_tokens.pop(credential.get("refresh_token", ""), None)
        self.service_accounts.pop(credential.get("client_email", ""), None)
        with self._lock:
            self.tokens.clear()

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        self.routes.append((method, re.compile(pattern), handler))

    def fail(self, pattern: str, reply: Reply, *, times: int = 1) -> None:
        with self._lock:
            self._faults.extend((re.compile(pattern), reply) for _ in range(times))

    def calls(self, pattern: str = "") -> list[Call]:
        regex = re.compile(pattern)
        with self._lock:
            return [c for c in self.requests if regex.search(c.path)]

    # --- life ----------------------------------------------------------------------------

    def start(self) -> "FakeGoogle":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "FakeGoogle":
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- answering -----------------------------------------------------------------------

    def _token(self, call: Call) -> Reply:
        form = {k: v[0] for k, v in parse_qs(call.body.decode()).items()}
        grant = form.get("grant_type")
        account: str | None = None
        if grant == "refresh_token":
            account = self.refresh_tokens.get(form.get("refresh_token", ""))
        elif grant == JWT_BEARER:
            account = self._verify_assertion(form.get("assertion", ""))
        else:
            return Reply(400, {"error": "unsupported_grant_type"})
        if account is None:
            return Reply(
                400,
                {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                },
            )
        token = "ya29." + secrets.token_urlsafe(24)
        with self._lock:
            self.tokens[token] = account
        return Reply(
            200,
            {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"},
        )

    def _verify_assertion(self, assertion: str) -> str | None:
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            claims = json.loads(_b64url_decode(claims_b64))
            key = self.service_accounts.get(claims.get("iss", ""))
            # google-auth addresses the assertion to Google's token URL whatever token_uri is.
            audiences = {self.token_uri, "https://oauth2.googleapis.com/token"}
            if key is None or claims.get("aud") not in audiences:
                return None
            key.verify(
                _b64url_decode(signature_b64),
                f"{header_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except Exception:  # a bad assertion is an invalid grant, as at Google
            return None
        return str(claims["iss"])

    def _answer(self, call: Call) -> Reply:
        if call.method == "POST" and call.path == "/token":
            return self._token(call)
        with self._lock:
            for index, (pattern, reply) in enumerate(self._faults):
                if pattern.search(call.path):
                    del self._faults[index]
                    return reply
        auth = call.headers.get("authorization", "")
        with self._lock:
            call.account = self.tokens.get(auth.removeprefix("Bearer ").strip())
        path = urlsplit(call.path).path
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(path)
            if method == call.method and match:
                if call.account is None:
                    return Reply(
                        401,
                        google_error(
                            401,
                            "Request had invalid authentication credentials. Expected OAuth 2 "
                            "access token, login cookie or other valid authentication credential.",
                            "UNAUTHENTICATED",
                        ),
                    )
                return handler(call, match)
        return Reply(404, google_error(404, f"Not found: {unquote(path)}", "NOT_FOUND"))

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                call = Call(
                    method=self.command,
                    path=self.path,
                    query=parse_qs(urlsplit(self.path).query),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                with fake._lock:
                    fake.requests.append(call)
                reply = fake._answer(call)
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.payload()
                try:
                    self.send_response(reply.status)
                    headers = {"Content-Type": "application/json; charset=UTF-8", **reply.headers}
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                return

        return Handler


@contextmanager
def fake_google() -> Iterator[FakeGoogle]:
    with FakeGoogle() as server:
        yield server
