"""Public keys that organisations register to sign end-user tokens on their own backend: the
PEM they may give, and registering and revoking them."""

from __future__ import annotations

import secrets

from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from parlour.audit.events import Actor, ClientKeyRegistered, ClientKeyRevoked
from parlour.audit.service import AuditLog
from parlour.errors import InvalidInput, NotFound
from parlour.keys.models import ClientKey
from parlour.keys.repository import ClientKeyRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

PublicKey = Ed25519PublicKey | EllipticCurvePublicKey
MAX_PEM_CHARS = 4096


def parse_public_key(pem: str) -> tuple[PublicKey, str]:
    """The key and the one algorithm it may sign with; RSA, other curves and anything that is
    not a PEM public key are refused."""
    if len(pem) > MAX_PEM_CHARS:
        raise InvalidInput("the public key is too long")
    try:
        key = load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as exc:
        raise InvalidInput("give the public key in PEM (SubjectPublicKeyInfo) form") from exc
    if isinstance(key, Ed25519PublicKey):
        return key, "EdDSA"
    if isinstance(key, EllipticCurvePublicKey) and isinstance(key.curve, SECP256R1):
        return key, "ES256"
    raise InvalidInput("only Ed25519 (EdDSA) and P-256 (ES256) public keys are accepted")


class ClientKeys:
    def __init__(self, db: Database, audit: AuditLog, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock

    async def register(self, tenant_id: str, public_key_pem: str, *, actor: Actor) -> ClientKey:
        """Register a public key the organisation's backend will sign end-user tokens with."""
        _, algorithm = parse_public_key(public_key_pem)
        key = ClientKey(
            tenant_id=tenant_id,
            kid="ck_" + secrets.token_urlsafe(12),
            algorithm=algorithm,
            public_key_pem=public_key_pem.strip(),
            created_at=self._clock(),
        )
        async with self._db.transaction() as conn:
            await ClientKeyRepository(conn).insert(key)
            await self._audit.record(
                conn, tenant_id, ClientKeyRegistered(key.kid, algorithm), actor
            )
        return key

    async def revoke(self, tenant_id: str, kid: str, *, actor: Actor) -> None:
        """Tokens signed with this key stop working at once, on open sockets too."""
        async with self._db.transaction() as conn:
            if not await ClientKeyRepository(conn).revoke(tenant_id, kid, self._clock()):
                raise NotFound("no such active client key")
            await self._audit.record(conn, tenant_id, ClientKeyRevoked(kid), actor)

    async def of_tenant(self, tenant_id: str) -> list[ClientKey]:
        async with self._db.read() as conn:
            return await ClientKeyRepository(conn).of_tenant(tenant_id)
