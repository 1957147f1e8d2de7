import asyncio
import ipaddress

import pytest

from app.core.net_guard import (
    AddressPolicy,
    AddressRefusedError,
    resolve_checked,
    resolve_checked_async,
)

REFUSED_BY_DEFAULT = [
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "127.0.0.1",
    "0.0.0.0",
    "169.254.169.254",
    "100.64.0.1",
    "224.0.0.1",
    "240.0.0.1",
    "::1",
    "fe80::1",
    "fc00::1",
    "::ffff:10.0.0.1",
    "ff02::1",
    # 6to4 wrapping a private IPv4 address: 127.0.0.1, 10.0.0.1, 192.168.1.1
    "2002:7f00:1::1",
    "2002:a00:1::",
    "2002:c0a8:101:0:0:0:0:1",
    # deprecated site-local
    "fec0::1",
    "feff:ffff::1",
]


@pytest.mark.parametrize("address", REFUSED_BY_DEFAULT)
def test_default_policy_refuses_internal_addresses(address: str) -> None:
    assert not AddressPolicy().allows(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "8.8.8.8", "2606:4700::1111", "2002:808:808::1"]
)
def test_default_policy_allows_public_addresses(address: str) -> None:
    assert AddressPolicy().allows(ipaddress.ip_address(address))


def test_allowing_private_still_refuses_metadata_services() -> None:
    policy = AddressPolicy(allow_private=True)
    assert policy.allows(ipaddress.ip_address("10.0.0.1"))
    assert policy.allows(ipaddress.ip_address("127.0.0.1"))
    assert not policy.allows(ipaddress.ip_address("169.254.169.254"))
    assert not policy.allows(ipaddress.ip_address("fd00:ec2::254"))
    assert not policy.allows(ipaddress.ip_address("2002:a9fe:a9fe::1"))  # 6to4 of 169.254.169.254


def test_a_6to4_literal_is_refused_before_any_connection() -> None:
    with pytest.raises(AddressRefusedError):
        resolve_checked("[2002:7f00:1::1]", 80, AddressPolicy())
    with pytest.raises(AddressRefusedError):
        asyncio.run(resolve_checked_async("fec0::1", 80, AddressPolicy()))


def test_allowed_networks_open_exactly_those() -> None:
    policy = AddressPolicy.build(allow_private=False, allowed_networks=["127.0.0.0/8"])
    assert policy.allows(ipaddress.ip_address("127.0.0.1"))
    assert not policy.allows(ipaddress.ip_address("10.0.0.1"))
    assert not policy.allows(ipaddress.ip_address("192.168.0.1"))


def test_resolution_checks_every_address_of_a_name() -> None:
    # `localhost` resolves to loopback only: refused by default, allowed when asked.
    with pytest.raises(AddressRefusedError):
        resolve_checked("localhost", 80, AddressPolicy())
    assert resolve_checked("localhost", 80, AddressPolicy(allow_private=True))
    with pytest.raises(AddressRefusedError):
        asyncio.run(resolve_checked_async("10.1.2.3", 80, AddressPolicy()))
    with pytest.raises(AddressRefusedError):
        asyncio.run(resolve_checked_async("[::1]", 80, AddressPolicy()))
