"""Outbound requests to hosts a tenant names (its domain's proof file, later its MCP server).

A tenant chooses the host, so the host is untrusted: it may resolve to this machine, the cloud's
metadata service or the private network behind Parlour (server-side request forgery). Every such
request therefore resolves the host once, refuses it unless every address is public (or inside a
network the operator allowed on purpose), and then connects to exactly the vetted address, so a
second lookup cannot swap in another (DNS rebinding). Redirects are never followed, and answers
are read only up to a small size.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterable, Sequence
from typing import Any, Final
from urllib.parse import urlsplit

import dns.asyncresolver
import dns.exception
import dns.resolver
import httpx2

from parlour.errors import InvalidInput
from parlour.identifiers import check_identifier

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NO_ANSWER: Final = (
    dns.resolver.NXDOMAIN,
    dns.resolver.NoAnswer,
    dns.resolver.NoNameservers,
    dns.resolver.NoResolverConfiguration,
    dns.exception.Timeout,
)


class EgressRefused(InvalidInput):
    # The host is one a tenant gave: refusing it is an answer about their input.
    code = "egress_refused"
    default_message = "Parlour does not connect to that host."


class Resolver:
    """DNS lookups through the configured nameservers (`host` or `host:port`), or the system's."""

    def __init__(self, nameservers: Sequence[str] = (), *, timeout_seconds: float = 5.0) -> None:
        self._nameservers = list(nameservers)
        self._timeout = timeout_seconds
        self._resolver: dns.asyncresolver.Resolver | None = None

    def _configured(self) -> dns.asyncresolver.Resolver:
        # Built on first use: a machine without /etc/resolv.conf can still start Parlour.
        if self._resolver is None:
            resolver = dns.asyncresolver.Resolver(configure=not self._nameservers)
            if self._nameservers:
                hosts, ports = zip(*(_host_and_port(n) for n in self._nameservers), strict=True)
                resolver.nameservers = list(hosts)
                resolver.port = ports[0]
            resolver.lifetime = self._timeout
            self._resolver = resolver
        return self._resolver

    async def addresses(self, host: str) -> list[IPAddress]:
        """Every A and AAAA address of `host` (an address literal stands for itself)."""
        literal = _address_literal(host)
        if literal is not None:
            return [literal]
        found: list[IPAddress] = []
        for record_type in ("A", "AAAA"):
            try:
                answer = await self._configured().resolve(host, record_type, search=False)
            except _NO_ANSWER:
                continue
            found.extend(ipaddress.ip_address(record.to_text()) for record in answer)
        return found

    async def texts(self, name: str) -> list[str]:
        """The TXT records at `name`, each one's strings joined, as RFC 7208 reads them."""
        try:
            answer = await self._configured().resolve(name, "TXT", search=False)
        except _NO_ANSWER:
            return []
        return [
            b"".join(record.strings).decode("utf-8", "replace")
            for record in answer
            if hasattr(record, "strings")
        ]


class EgressGuard:
    """Decides which addresses Parlour may connect to on a tenant's behalf, and connects."""

    def __init__(
        self,
        resolver: Resolver,
        allowed_networks: Iterable[str] = (),
        *,
        timeout_seconds: float = 5.0,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.resolver = resolver
        self._allowed: list[IPNetwork] = [
            ipaddress.ip_network(n, strict=False) for n in allowed_networks
        ]
        self._timeout = timeout_seconds
        self._transport = transport

    def permits(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self._allowed):
            return True
        return address.is_global and not address.is_multicast

    async def vetted_address(self, host: str) -> IPAddress:
        """The address to connect to for `host`; refused when any of its addresses is not
        permitted, since a resolver may hand out either one."""
        addresses = await self.resolver.addresses(host)
        if not addresses:
            raise EgressRefused(f"{host} does not resolve to any address")
        if not all(self.permits(a) for a in addresses):
            raise EgressRefused(f"{host} resolves to an address Parlour does not connect to")
        return addresses[0]

    def client(self, *, tls: ssl.SSLContext | None = None, **options: Any) -> httpx2.AsyncClient:
        """An HTTP client whose every request goes to a vetted address of its host, with no
        redirects followed; `tls` replaces the default TLS settings (which CAs, which client
        certificate). (httpx2: the HTTP library the MCP SDK speaks through.)"""
        inner = self._transport if tls is None else httpx2.AsyncHTTPTransport(verify=tls)
        return httpx2.AsyncClient(
            transport=PinnedTransport(self, inner),
            follow_redirects=False,
            timeout=self._timeout,
            **options,
        )

    async def fetch_text(self, url: str, *, max_bytes: int = 4096) -> str | None:
        """GET `url` from a vetted address: the body (at most `max_bytes`, as text) of a 200
        answer, or None for any other answer or a failed connection."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EgressRefused("only http and https URLs are fetched")
        async with self.client(headers={"User-Agent": "Parlour domain check"}) as client:
            try:
                async with client.stream("GET", url) as response:
                    if response.status_code != 200:
                        return None
                    body = b""
                    async for chunk in response.aiter_raw():
                        body += chunk
                        if len(body) >= max_bytes:
                            break
                    return body[:max_bytes].decode("utf-8", "replace")
            except httpx2.HTTPError:
                return None


def checked_url(url: str, *, what: str, example: str, allow_http: bool) -> str:
    """A tenant's URL for `what` ("an MCP server URL"), trimmed: https (http too when
    `allow_http`, outside production), a host, no credentials, no fragment; its address is
    vetted at each connection."""
    # Checked before parsing: urlsplit drops tabs and line breaks without a word (T-90).
    url = check_identifier(url.strip(), what)
    parts = urlsplit(url)
    if len(url) > 2000 or not parts.hostname or parts.username or parts.password:
        raise InvalidInput(f"give the URL, like {example}")
    if parts.fragment:
        raise InvalidInput(f"{what} has no #fragment")
    if parts.scheme != "https" and not (parts.scheme == "http" and allow_http):
        raise InvalidInput(f"{what} must start with https://")
    return url


class PinnedTransport(httpx2.AsyncBaseTransport):
    """Sends each request to an address the guard vetted for the request's host, resolved once
    for that request, while the Host header and TLS (SNI and the certificate check) keep the
    host name."""

    def __init__(self, guard: EgressGuard, inner: httpx2.AsyncBaseTransport | None = None) -> None:
        self._guard = guard
        self._inner = inner or httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        host = request.url.host
        address = await self._guard.vetted_address(host)
        request.url = request.url.copy_with(host=str(address))
        request.extensions = {**request.extensions, "sni_hostname": host}
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _address_literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _host_and_port(nameserver: str) -> tuple[str, int]:
    host, _, port = nameserver.rpartition(":")
    if host and port.isdigit() and not host.endswith(":"):
        return host.strip("[]"), int(port)
    return nameserver.strip("[]"), 53
