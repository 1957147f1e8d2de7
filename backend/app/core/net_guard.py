"""SSRF guard: the crawler and the renderer must not be turned against our own network.

A URL is judged by the addresses its host resolves to, at connect time: the guarded network
backend resolves the name once, checks every address, and connects to the address it checked,
so a DNS answer that changes between the check and the connection (rebinding) cannot slip
through. Redirects open new connections through the same backend, so every hop is checked;
`app.audits.crawl.http_pool.CrawlTransport` is the crawler's transport over it.
"""

import asyncio
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Cloud metadata services: refused even when private networks are allowed, because they
# hand out credentials and no site audit needs them.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)


class AddressRefusedError(Exception):
    """The target resolves to an address the guard does not allow."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} resolves to {address}, a private or reserved address")
        self.host = host
        self.address = address


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    """Which resolved addresses a crawl may connect to.

    `allow_private`: anything but metadata services (local development, tests).
    `allowed_networks`: exceptions to the default refusal (e.g. exactly loopback).
    """

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def build(cls, *, allow_private: bool, allowed_networks: Iterable[str] = ()) -> "AddressPolicy":
        return cls(
            allow_private=allow_private,
            allowed_networks=tuple(ipaddress.ip_network(n) for n in allowed_networks),
        )

    def allows(self, address: IPAddress) -> bool:
        site_local = False
        if isinstance(address, ipaddress.IPv6Address):
            # An IPv6 address that carries an IPv4 one reaches that one: IPv4-mapped, and
            # 6to4 (2002::/16, which Python counts as global whatever it wraps).
            embedded = address.ipv4_mapped or address.sixtofour
            if embedded is not None:
                address = embedded
            else:
                # fec0::/10: deprecated site-local, still routed inside some networks.
                site_local = address.is_site_local
        if address in METADATA_ADDRESSES:
            return False
        if self.allow_private:
            return True
        if any(address in network for network in self.allowed_networks):
            return True
        return (
            address.is_global
            and not address.is_multicast
            and not address.is_reserved
            and not site_local
        )


def _literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def resolve_checked(host: str, port: int, policy: AddressPolicy) -> list[str]:
    """Blocking resolution for synchronous callers (the renderer's request filter)."""
    literal = _literal_address(host)
    if literal is not None:
        infos_addresses = [str(literal)]
    else:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        infos_addresses = [str(info[4][0]) for info in infos]
    return _check(host, infos_addresses, policy)


async def resolve_checked_async(host: str, port: int, policy: AddressPolicy) -> list[str]:
    literal = _literal_address(host)
    if literal is not None:
        return _check(host, [str(literal)], policy)
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return _check(host, [str(info[4][0]) for info in infos], policy)


def _check(host: str, addresses: list[str], policy: AddressPolicy) -> list[str]:
    if not addresses:
        raise OSError(f"{host} does not resolve")
    unique = list(dict.fromkeys(addresses))
    for address in unique:
        # Every address must pass: a name that resolves to one public and one private
        # address could otherwise be steered to the private one.
        if not policy.allows(ipaddress.ip_address(address.split("%", 1)[0])):
            raise AddressRefusedError(host, address)
    return unique


class _AsyncioStream(httpcore.AsyncNetworkStream):
    """An httpcore stream straight on asyncio streams.

    httpcore's own AnyIO stream answers `get_extra_info("is_readable")`, which the pool asks
    of every idle connection on every request, by building anyio's whole attribute table
    (getpeername and all): with 32 connections that was a third of the crawler's CPU.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(str(exc)) from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    async def aclose(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError as exc:
            await self.aclose()
            raise httpcore.ConnectTimeout(str(exc)) from exc
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc)) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # An idle keep-alive connection with something to read was closed by the server.
            return self._reader.at_eof() or self._writer.is_closing()
        if info == "ssl_object":
            return self._writer.get_extra_info("ssl_object")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "socket":
            return self._writer.get_extra_info("socket")
        return None


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that connects only to addresses the policy allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve_checked_async(host, port, self._policy)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"{host}: {exc}") from exc
        last_error: Exception | None = None
        for address in addresses:
            try:
                # TLS still verifies and sends SNI for `host`: httpcore passes the origin's
                # name to start_tls, whatever address we connected to.
                async with asyncio.timeout(timeout):
                    reader, writer = await asyncio.open_connection(address, port, limit=256 * 1024)
            except TimeoutError as exc:
                last_error = httpcore.ConnectTimeout(f"{host} ({address}): {exc}")
                continue
            except OSError as exc:
                last_error = httpcore.ConnectError(f"{host} ({address}): {exc}")
                continue
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return _AsyncioStream(reader, writer)
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not crawled")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
