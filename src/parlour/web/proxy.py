"""Who is really calling: the client address and scheme, trusting forwarding headers only when
they come from a configured proxy (T-56, T-28)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True, slots=True)
class ClientInfo:
    ip: str | None
    secure: bool


def parse_networks(values: Sequence[str]) -> list[Network]:
    return [ipaddress.ip_network(v, strict=False) for v in values]


def _is_trusted(address: str | None, trusted: Sequence[Network]) -> bool:
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_info(scope: Scope, trusted: Sequence[Network]) -> ClientInfo:
    peer = scope.get("client")
    peer_ip = peer[0] if peer else None
    secure = scope.get("scheme") in ("https", "wss")
    if not _is_trusted(peer_ip, trusted):
        # A client may send any X-Forwarded-* it likes; only a trusted proxy's count.
        return ClientInfo(peer_ip, secure)
    headers = Headers(scope=scope)
    hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
    client = peer_ip
    # Walk from the nearest hop outwards; the first address we do not trust is the client.
    for hop in reversed(hops):
        client = hop
        if not _is_trusted(hop, trusted):
            break
    proto = headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    return ClientInfo(client, proto in ("https", "wss") if proto else secure)
