"""The render proxy connects only where the SSRF guard allows, whatever the browser asks."""

import socket
from collections.abc import Iterator

import httpx
import pytest

from app.audits.render.proxy import RenderProxy
from app.core.net_guard import AddressPolicy
from tests.fakes.site_server import Route, SiteServer, html_page


@pytest.fixture
def proxy() -> Iterator[RenderProxy]:
    policy = AddressPolicy.build(allow_private=False, allowed_networks=["127.0.0.1/32"])
    running = RenderProxy(policy).start()
    yield running
    running.stop()


def test_plain_http_is_relayed_to_allowed_addresses_only(proxy: RenderProxy) -> None:
    with (
        SiteServer({"/": html_page("allowed", title="Allowed")}) as allowed,
        SiteServer({"/secret": Route(body="internal")}, host="127.0.0.2") as internal,
    ):
        with httpx.Client(proxy=proxy.url, trust_env=False) as client:
            ok = client.get(f"{allowed.url}/?q=1", headers={"X-Probe": "yes"})
            refused = client.get(f"{internal.url}/secret")
        assert ok.status_code == 200
        assert "<title>Allowed</title>" in ok.text
        assert allowed.requested_paths == ["/?q=1"]
        assert refused.status_code == 403
        assert internal.requested_paths == []


def test_connect_tunnels_are_checked_too(proxy: RenderProxy) -> None:
    with SiteServer({"/": html_page("x")}, host="127.0.0.2") as internal:
        for target in (f"127.0.0.2:{internal.port}", "169.254.169.254:443"):
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
                sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
                assert sock.recv(100).startswith(b"HTTP/1.1 403")
        assert internal.requested_paths == []

    with SiteServer({"/": html_page("tunnelled", title="T")}) as allowed:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
            target = f"127.0.0.1:{allowed.port}"
            sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert b"<title>T</title>" in received
