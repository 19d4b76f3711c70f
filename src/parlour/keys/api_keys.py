"""API keys: an organisation's backend proves itself with one, to mint end-user tokens and
revoke end users.

The format is `parlour_sk_<key id>_<secret>`. The recognisable prefix lets secret scanners find
leaked keys; the key id lets us find the row without a search by secret; the secret carries 256
random bits, so a SHA-256 digest is enough to store it (T-46) and no slow password hash is
needed.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import Actor, ApiKeyCreated, ApiKeyRevoked, ApiKeyRotated
from parlour.audit.service import AuditLog
from parlour.crypto.digest import sha256_hex
from parlour.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from parlour.identifiers import check_identifier
from parlour.keys.models import ApiKey, IssuedApiKey, Scope
from parlour.keys.repository import ApiKeyRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

PREFIX = "parlour_sk_"
_FORMAT = re.compile(r"parlour_sk_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})")
# A fixed digest to compare against when the key id is unknown, so that an unknown id and a wrong
# secret take the same path.
_UNKNOWN_KEY_DIGEST = sha256_hex("parlour_sk_unknown")


def new_key() -> tuple[str, str]:
    """(public key id, full secret) for a new API key."""
    key_id = secrets.token_hex(8)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def parse_key_id(secret: str) -> str | None:
    match = _FORMAT.fullmatch(secret)
    return match["key_id"] if match else None


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(sha256_hex(secret), stored_digest)


class ApiKeys:
    def __init__(self, db: Database, audit: AuditLog, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock

    async def create(
        self,
        tenant_id: str,
        *,
        label: str,
        scopes: Iterable[Scope] = (Scope.MINT_END_USER_TOKENS, Scope.REVOKE_END_USERS),
        expires_at: datetime | None = None,
        actor: Actor,
    ) -> IssuedApiKey:
        async with self._db.transaction() as conn:
            return await self._create(
                conn, tenant_id, label=label, scopes=scopes, expires_at=expires_at, actor=actor
            )

    async def authenticate(self, secret: str | None, *, scope: Scope) -> ApiKey:
        """The key behind a presented secret, if it is valid now and carries `scope`."""
        key_id = parse_key_id(secret) if secret else None
        key = None
        if key_id is not None:
            async with self._db.read() as conn:
                key = await ApiKeyRepository(conn).find_by_key_id(key_id)
        stored = key.digest if key else _UNKNOWN_KEY_DIGEST
        if not (secret and matches(secret, stored)) or key is None:
            raise Unauthenticated("A valid API key is required.")
        if not key.usable_at(self._clock()):
            raise Unauthenticated("A valid API key is required.")
        if scope not in key.scopes:
            raise Forbidden(f"This API key lacks the {scope.value} scope.")
        return key

    async def rotate(
        self, tenant_id: str, key_id: str, *, overlap: timedelta, actor: Actor
    ) -> IssuedApiKey:
        """A new key with the old one's label, scopes and lifetime; the old one keeps working for
        `overlap` (while the backend switches), then stops (T-47)."""
        now = self._clock()
        async with self._db.read() as conn:
            old = await ApiKeyRepository(conn).find_by_key_id(key_id)
        if old is None or old.tenant_id != tenant_id or not old.usable_at(now):
            raise NotFound("no such active API key")
        lifetime = old.expires_at - old.created_at if old.expires_at else None
        stops_at = now + overlap
        async with self._db.transaction() as conn:
            issued = await self._create(
                conn,
                tenant_id,
                label=old.label,
                scopes=old.scopes,
                expires_at=now + lifetime if lifetime else None,
                actor=actor,
            )
            await ApiKeyRepository(conn).revoke(tenant_id, key_id, stops_at)
            event = ApiKeyRotated(key_id, issued.key.key_id, stops_at.isoformat())
            await self._audit.record(conn, tenant_id, event, actor)
        return issued

    async def revoke(self, tenant_id: str, key_id: str, *, actor: Actor) -> None:
        async with self._db.transaction() as conn:
            if not await ApiKeyRepository(conn).revoke(tenant_id, key_id, self._clock()):
                raise NotFound("no such active API key")
            await self._audit.record(conn, tenant_id, ApiKeyRevoked(key_id), actor)

    async def of_tenant(self, tenant_id: str) -> list[ApiKey]:
        async with self._db.read() as conn:
            return await ApiKeyRepository(conn).list(tenant_id)

    async def _create(
        self,
        conn: AsyncConnection,
        tenant_id: str,
        *,
        label: str,
        scopes: Iterable[Scope],
        expires_at: datetime | None,
        actor: Actor,
    ) -> IssuedApiKey:
        scope_set = frozenset(scopes)
        if not scope_set:
            raise InvalidInput("an API key needs at least one scope")
        key_id, secret = new_key()
        key = ApiKey(
            tenant_id=tenant_id,
            key_id=key_id,
            label=check_identifier(label.strip(), "an API key's label")[:200] or "API key",
            digest=sha256_hex(secret),
            scopes=scope_set,
            created_at=self._clock(),
            expires_at=expires_at,
        )
        event = ApiKeyCreated(
            key_id=key_id,
            label=key.label,
            scopes=sorted(scope_set),
            expires_at=expires_at.isoformat() if expires_at else None,
        )
        await ApiKeyRepository(conn).insert(key)
        await self._audit.record(conn, tenant_id, event, actor)
        return IssuedApiKey(key=key, secret=secret)
