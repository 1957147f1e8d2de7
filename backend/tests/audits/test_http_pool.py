"""The crawler's transport over TLS: it connects to the address the guard checked, yet
verifies the certificate and sends SNI for the host name."""

import asyncio
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.audits.crawl.http_pool import CrawlTransport
from app.core.net_guard import AddressPolicy
from tests.fakes.site_server import SiteServer, html_page


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_site(certificate: tuple[Path, Path]) -> Iterator[SiteServer]:
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(*certificate)
    with SiteServer({"/": html_page("secure", title="TLS")}, tls=server_context) as site:
        yield site


async def fetch(transport: CrawlTransport, url: str, times: int = 1) -> list[bytes]:
    bodies = []
    try:
        for _ in range(times):
            response = await transport.handle_async_request(httpx.Request("GET", url))
            bodies.append(await response.aread())
            await response.aclose()
    finally:
        await transport.aclose()
    return bodies


def test_tls_verifies_the_host_name_over_the_checked_address(
    tls_site: SiteServer, certificate: tuple[Path, Path]
) -> None:
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    policy = AddressPolicy.build(allow_private=False, allowed_networks=["127.0.0.1/32", "::1/128"])
    url = f"https://localhost:{tls_site.port}/"
    bodies = asyncio.run(
        fetch(CrawlTransport(policy, max_connections=2, ssl_context=trusting), url, 3)
    )
    assert all(b"<title>TLS</title>" in body for body in bodies)


def test_untrusted_certificates_are_refused(tls_site: SiteServer) -> None:
    policy = AddressPolicy(allow_private=True)
    url = f"https://localhost:{tls_site.port}/"
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        asyncio.run(fetch(CrawlTransport(policy, max_connections=2), url))


def test_a_certificate_for_another_name_is_refused(
    tls_site: SiteServer, certificate: tuple[Path, Path]
) -> None:
    trusting = ssl.create_default_context(cafile=str(certificate[0]))
    policy = AddressPolicy(allow_private=True)
    url = f"https://127.0.0.1:{tls_site.port}/"  # the certificate names localhost only
    with pytest.raises(httpx.ConnectError, match=r"IP address mismatch|doesn.t match"):
        asyncio.run(fetch(CrawlTransport(policy, max_connections=2, ssl_context=trusting), url))
