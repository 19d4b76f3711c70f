"""Requests to hosts a tenant names go only to public addresses (or networks the operator
allowed), to exactly the address that was vetted, without following redirects, reading little."""

from __future__ import annotations

import ipaddress

import pytest

from parlour.egress import EgressGuard, EgressRefused, Resolver
from tests.support.dns import dns_server, unique_host
from tests.support.sites import Page, serving


def guard(*allowed: str) -> EgressGuard:
    return EgressGuard(Resolver([dns_server().nameserver], timeout_seconds=2), allowed)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",  # this machine
        "10.1.2.3",  # the private network behind Parlour
        "192.168.0.10",
        "172.16.5.5",
        "169.254.169.254",  # a cloud's metadata service
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",  # noqa: S104 (a destination here, not a binding)
        "224.0.0.1",  # multicast
        "::1",
        "fd00::1",  # unique local
        "fe80::1",  # link local
        "::ffff:127.0.0.1",  # loopback dressed as IPv6
    ],
)
def test_no_address_but_a_public_one_is_permitted_by_default(address: str) -> None:
    assert not guard().permits(ipaddress.ip_address(address))


def test_public_addresses_and_allowed_networks_are_permitted() -> None:
    assert guard().permits(ipaddress.ip_address("93.184.215.14"))
    assert guard().permits(ipaddress.ip_address("2606:4700::6810:85e5"))
    assert guard("10.0.0.0/8").permits(ipaddress.ip_address("10.1.2.3"))
    assert not guard("10.0.0.0/8").permits(ipaddress.ip_address("192.168.0.10"))


async def test_a_host_with_any_private_address_among_public_ones_is_refused() -> None:
    host = unique_host()
    dns_server().zone.set(host, "A", "93.184.215.14", "10.0.0.7")
    with pytest.raises(EgressRefused, match="does not connect to"):
        await guard().vetted_address(host)


async def test_a_host_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(EgressRefused, match="does not resolve"):
        await guard().vetted_address(unique_host())


async def test_a_name_pointing_at_loopback_is_refused_before_any_connection() -> None:
    host = unique_host()
    dns_server().zone.set(host, "A", "127.0.0.1")
    with serving({"/": Page(b"secret admin page")}) as site:
        with pytest.raises(EgressRefused):
            await guard().fetch_text(f"http://{host}:{site.port}/")
        assert site.hosts_asked == []


async def test_a_fetch_goes_to_the_vetted_address_with_the_tenants_host_name() -> None:
    host = unique_host()
    dns_server().zone.set(host, "A", "127.0.0.1")
    with serving({"/file.txt": Page(b"hello")}) as site:
        text = await guard("127.0.0.0/8").fetch_text(f"http://{host}:{site.port}/file.txt")
    assert text == "hello"
    assert site.hosts_asked == [f"{host}:{site.port}"]


async def test_redirects_are_not_followed_and_bodies_are_cut_short() -> None:
    host = unique_host()
    dns_server().zone.set(host, "A", "127.0.0.1")
    pages = {
        "/moved": Page(status=302, headers={"Location": "http://169.254.169.254/latest/"}),
        "/big": Page(b"x" * 100_000),
    }
    with serving(pages) as site:
        base = f"http://{host}:{site.port}"
        assert await guard("127.0.0.0/8").fetch_text(f"{base}/moved") is None
        big = await guard("127.0.0.0/8").fetch_text(f"{base}/big", max_bytes=1000)
    assert big == "x" * 1000
    assert site.hosts_asked == [f"{host}:{site.port}"] * 2


async def test_txt_records_are_read_whole() -> None:
    host = unique_host()
    dns_server().zone.set(host, "TXT", "v=one", "parlour-domain-verification=abc")
    assert sorted(await guard().resolver.texts(host)) == [
        "parlour-domain-verification=abc",
        "v=one",
    ]
    assert await guard().resolver.texts(unique_host()) == []
