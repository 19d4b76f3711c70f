"""Parlour's signing keys, one in force per organisation, and the JWKS that publishes their
public halves. The private half is sealed with the organisation's data key (T-48); rotating
retires the old keys after an overlap."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from parlour.audit.events import Actor, ActorType, SigningKeyCreated, SigningKeyRetired
from parlour.audit.service import AuditLog
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.keys import tokens
from parlour.keys.models import SigningKey
from parlour.keys.repository import SigningKeyRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow


class SigningKeys:
    def __init__(
        self, db: Database, vault: Vault, audit: AuditLog, *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self._clock = clock

    async def ensure(self, tenant_id: str) -> SigningKey:
        """The organisation's key in force, made now if it has none."""
        async with self._db.read() as conn:
            current = await SigningKeyRepository(conn).current(tenant_id)
        if current is not None:
            return current
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction() as conn:
            repo = SigningKeyRepository(conn)
            current = await repo.current(tenant_id)  # another request may have made it
            if current is not None:
                return current
            private = Ed25519PrivateKey.generate()
            kid = secrets.token_urlsafe(12)
            key = SigningKey(
                tenant_id=tenant_id,
                kid=kid,
                algorithm=tokens.ALGORITHM,
                public_key=private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw),
                # Recoverable, so sealed with the tenant's data key rather than hashed (T-48).
                private_key_sealed=cipher.seal(
                    private.private_bytes_raw(), _private_key_place(kid)
                ),
                created_at=self._clock(),
            )
            await repo.insert(key)
            await self._audit.record(
                conn, tenant_id, SigningKeyCreated(kid), Actor(ActorType.SYSTEM, "keys")
            )
            return key

    async def rotate(self, tenant_id: str, *, overlap: timedelta, actor: Actor) -> SigningKey:
        """A new signing key; tokens signed by the old ones stay valid for `overlap` (zero: at
        once, which also closes the sockets they opened at their next check)."""
        retire_at = self._clock() + overlap
        async with self._db.transaction() as conn:
            retired = await SigningKeyRepository(conn).retire_all(tenant_id, retire_at)
            for kid in retired:
                await self._audit.record(
                    conn, tenant_id, SigningKeyRetired(kid, retire_at.isoformat()), actor
                )
        return await self.ensure(tenant_id)

    async def of_tenant(self, tenant_id: str) -> list[SigningKey]:
        async with self._db.read() as conn:
            return await SigningKeyRepository(conn).of_tenant(tenant_id)

    async def private_key(self, key: SigningKey) -> Ed25519PrivateKey:
        """The unsealed private half, for the token minters of this package alone."""

        async def unseal(cipher: TenantCipher) -> bytes:
            return cipher.open(key.private_key_sealed, _private_key_place(key.kid))

        return Ed25519PrivateKey.from_private_bytes(await self._vault.using(key.tenant_id, unseal))

    async def jwks(self, tenant_id: str | None = None) -> dict[str, Any]:
        """The public keys still valid: every organisation's, or only one's, so that its MCP
        servers can trust no other organisation's keys at all."""
        async with self._db.read() as conn:
            keys = await SigningKeyRepository(conn).list_valid_at(self._clock(), tenant_id)
        return {"keys": [_jwk(key) for key in keys]}


def _private_key_place(kid: str) -> Place:
    return Place("signing_keys", kid, "private_key")


def _jwk(key: SigningKey) -> dict[str, str]:
    x = base64.urlsafe_b64encode(key.public_key).rstrip(b"=").decode()
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": key.kid, "alg": "EdDSA", "use": "sig"}
