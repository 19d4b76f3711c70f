"""Proof that an organisation controls the host of an origin it asks to allowlist.

Without it, any organisation could put a bank's origin on its own allowlist and have its widget
accepted there. The organisation gets a random token per origin and publishes it either as a DNS
TXT record or as a file under /.well-known on the origin itself, the two ways certificate
authorities and search consoles accept (RFC 8555 dns-01 and http-01 in spirit).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from urllib.parse import urlsplit

from parlour.egress import EgressGuard, EgressRefused
from parlour.errors import InvalidInput

DNS_LABEL = "_parlour-challenge"
TXT_PREFIX = "parlour-domain-verification="
WELL_KNOWN_PATH = "/.well-known/parlour-domain-verification.txt"


class ProofMethod(StrEnum):
    DNS = "dns"
    WELL_KNOWN = "well_known"


class OriginUnproven(InvalidInput):
    code = "origin_unproven"
    default_message = "Neither the DNS record nor the file proving this origin was found."


@dataclass(frozen=True, slots=True)
class OriginClaim:
    """An origin waiting for proof, and what its owner must publish."""

    origin: str
    token: str
    created_at: datetime
    checked_at: datetime | None = None

    @property
    def host(self) -> str:
        return urlsplit(self.origin).hostname or ""

    @property
    def dns_name(self) -> str:
        return f"{DNS_LABEL}.{self.host}"

    @property
    def dns_value(self) -> str:
        return TXT_PREFIX + self.token

    @property
    def well_known_url(self) -> str:
        return self.origin + WELL_KNOWN_PATH


async def prove(claim: OriginClaim, guard: EgressGuard) -> ProofMethod:
    """How the claim is proven; OriginUnproven, saying what was looked for, when it is not."""
    if claim.dns_value in await guard.resolver.texts(claim.dns_name):
        return ProofMethod.DNS
    try:
        body = await guard.fetch_text(claim.well_known_url)
    except EgressRefused as refused:
        file_result = f"not fetched: {refused.message}"
    else:
        if body is not None and claim.token in body.split():
            return ProofMethod.WELL_KNOWN
        file_result = "no file with the token" if body is None else "the file lacks the token"
    raise OriginUnproven(
        details={
            "dns": f"no TXT record {claim.dns_value!r} at {claim.dns_name}",
            "well_known": f"{claim.well_known_url}: {file_result}",
        }
    )
