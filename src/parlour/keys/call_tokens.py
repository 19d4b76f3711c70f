"""Parlour's credential for one request to an organisation's own server (its MCP server): an
RFC 9068 access token for that server alone, signed with the organisation's key, so the server
checks it against the published JWKS."""

from __future__ import annotations

from parlour.keys import tokens
from parlour.keys.signing_keys import SigningKeys
from parlour.storage.types import Clock, utcnow


class CallTokens:
    def __init__(self, signing_keys: SigningKeys, *, issuer: str, clock: Clock = utcnow) -> None:
        self._signing_keys = signing_keys
        self._issuer = issuer
        self._clock = clock

    async def mint(self, tenant_id: str, *, audience: str, subject: str, scope: str) -> str:
        key = await self._signing_keys.ensure(tenant_id)
        return tokens.sign_call_token(
            await self._signing_keys.private_key(key),
            key.kid,
            issuer=self._issuer,
            audience=audience,
            tenant_id=tenant_id,
            subject=subject,
            scope=scope,
            now=self._clock(),
        )
