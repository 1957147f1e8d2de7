"""SSRF guard: the crawler and the renderer must not be turned against our own network.

A URL is judged by the addresses its host resolves to, at connect time: the guarded network
backend resolves the name once, checks every address, and connects to the address it checked,
so a DNS answer that changes between the check and the connection (rebinding) cannot slip
through. Redirects open new connections through the same backend, so every hop is checked.
"""

import asyncio
import ipaddress
import socket
import ssl
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

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
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address in METADATA_ADDRESSES:
            return False
        if self.allow_private:
            return True
        if any(address in network for network in self.allowed_networks):
            return True
        return address.is_global and not address.is_multicast and not address.is_reserved


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


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """An httpcore backend that connects only to addresses the policy allows."""

    def __init__(self, policy: AddressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

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
                # TLS still verifies and sends SNI for `host`: httpcore takes both from the
                # request's origin, not from the address we connect to.
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last_error = exc
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
        await self._inner.sleep(seconds)


def guarded_transport(
    policy: AddressPolicy, *, max_connections: int, max_keepalive: int
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose one connection pool goes through the guard."""
    transport = httpx.AsyncHTTPTransport(trust_env=False, retries=0)
    # httpx does not take a network backend; its pool is replaced by an identical one that
    # uses ours (the documented httpcore extension point).
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl.create_default_context(),
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive,
        keepalive_expiry=5.0,
        http1=True,
        http2=False,
        retries=0,
        network_backend=GuardedNetworkBackend(policy),
    )
    return transport
