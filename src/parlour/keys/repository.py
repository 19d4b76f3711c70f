"""SQL for API keys, signing keys, revocations and used token ids. Methods take `tenant_id`
first, except the resolvers that find a key from the public id a caller presents (the caller has
no tenant yet) and the JWKS listing of every public key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.keys.models import ApiKey, ClientKey, Scope, SigningKey
from parlour.storage.dialect import upsert
from parlour.storage.tables import (
    api_keys,
    client_keys,
    end_user_revocations,
    signing_keys,
    used_token_ids,
)


class ApiKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, key: ApiKey) -> None:
        await self._conn.execute(
            insert(api_keys).values(
                tenant_id=key.tenant_id,
                key_id=key.key_id,
                label=key.label,
                digest=key.digest,
                scopes=sorted(key.scopes),
                created_at=key.created_at,
                expires_at=key.expires_at,
                revoked_at=key.revoked_at,
            )
        )

    async def list(self, tenant_id: str) -> list[ApiKey]:
        rows = await self._conn.execute(
            select(api_keys)
            .where(api_keys.c.tenant_id == tenant_id)
            .order_by(api_keys.c.created_at)
        )
        return [_api_key(row) for row in rows]

    async def revoke(self, tenant_id: str, key_id: str, at: datetime) -> bool:
        result = await self._conn.execute(
            update(api_keys)
            .where(
                api_keys.c.tenant_id == tenant_id,
                api_keys.c.key_id == key_id,
                # Not yet revoked, or only due to stop later (a rotation's overlap).
                api_keys.c.revoked_at.is_(None) | (api_keys.c.revoked_at > at),
            )
            .values(revoked_at=at)
        )
        return result.rowcount > 0

    async def find_by_key_id(self, key_id: str) -> ApiKey | None:
        row = (
            await self._conn.execute(select(api_keys).where(api_keys.c.key_id == key_id))
        ).first()
        return _api_key(row) if row else None


class SigningKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, key: SigningKey) -> None:
        await self._conn.execute(
            insert(signing_keys).values(
                tenant_id=key.tenant_id,
                kid=key.kid,
                algorithm=key.algorithm,
                public_key=key.public_key,
                private_key_sealed=key.private_key_sealed,
                created_at=key.created_at,
                retired_at=key.retired_at,
            )
        )

    async def current(self, tenant_id: str) -> SigningKey | None:
        row = (
            await self._conn.execute(
                select(signing_keys)
                .where(signing_keys.c.tenant_id == tenant_id, signing_keys.c.retired_at.is_(None))
                .order_by(signing_keys.c.created_at.desc())
                .limit(1)
            )
        ).first()
        return _signing_key(row) if row else None

    async def get(self, tenant_id: str, kid: str) -> SigningKey | None:
        row = (
            await self._conn.execute(
                select(signing_keys).where(
                    signing_keys.c.tenant_id == tenant_id, signing_keys.c.kid == kid
                )
            )
        ).first()
        return _signing_key(row) if row else None

    async def of_tenant(self, tenant_id: str) -> list[SigningKey]:
        rows = await self._conn.execute(
            select(signing_keys)
            .where(signing_keys.c.tenant_id == tenant_id)
            .order_by(signing_keys.c.created_at.desc())
        )
        return [_signing_key(row) for row in rows]

    async def list_valid_at(
        self, moment: datetime, tenant_id: str | None = None
    ) -> list[SigningKey]:
        """Keys still valid at `moment`: every organisation's, or one's."""
        query = select(signing_keys).where(
            (signing_keys.c.retired_at.is_(None)) | (signing_keys.c.retired_at > moment)
        )
        if tenant_id is not None:
            query = query.where(signing_keys.c.tenant_id == tenant_id)
        rows = await self._conn.execute(query.order_by(signing_keys.c.created_at))
        return [_signing_key(row) for row in rows]

    async def retire_all(self, tenant_id: str, at: datetime) -> list[str]:
        """Retire every key of the tenant that would still be valid at `at`."""
        rows = await self._conn.execute(
            update(signing_keys)
            .where(
                signing_keys.c.tenant_id == tenant_id,
                (signing_keys.c.retired_at.is_(None)) | (signing_keys.c.retired_at > at),
            )
            .values(retired_at=at)
            .returning(signing_keys.c.kid)
        )
        return list(rows.scalars())


class ClientKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, key: ClientKey) -> None:
        await self._conn.execute(
            insert(client_keys).values(
                tenant_id=key.tenant_id,
                kid=key.kid,
                algorithm=key.algorithm,
                public_key_pem=key.public_key_pem,
                created_at=key.created_at,
            )
        )

    async def get(self, tenant_id: str, kid: str) -> ClientKey | None:
        row = (
            await self._conn.execute(
                select(client_keys).where(
                    client_keys.c.tenant_id == tenant_id, client_keys.c.kid == kid
                )
            )
        ).first()
        return _client_key(row) if row else None

    async def of_tenant(self, tenant_id: str) -> list[ClientKey]:
        rows = await self._conn.execute(
            select(client_keys)
            .where(client_keys.c.tenant_id == tenant_id)
            .order_by(client_keys.c.created_at.desc())
        )
        return [_client_key(row) for row in rows]

    async def revoke(self, tenant_id: str, kid: str, at: datetime) -> bool:
        result = await self._conn.execute(
            update(client_keys)
            .where(
                client_keys.c.tenant_id == tenant_id,
                client_keys.c.kid == kid,
                client_keys.c.revoked_at.is_(None),
            )
            .values(revoked_at=at)
        )
        return result.rowcount > 0


class RevocationRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def revoke_before(self, tenant_id: str, user_id: str, moment: datetime) -> None:
        await self._conn.execute(
            upsert(
                self._conn,
                end_user_revocations,
                {"tenant_id": tenant_id, "user_id": user_id, "revoked_before": moment},
                keys=["tenant_id", "user_id"],
                update=["revoked_before"],
            )
        )

    async def revoked_before_many(
        self, tenant_id: str, user_ids: Sequence[str]
    ) -> dict[str, datetime]:
        """user id -> the moment before which their tokens are revoked, for those revoked."""
        found: dict[str, datetime] = {}
        for start in range(0, len(user_ids), _IN_CHUNK):
            rows = await self._conn.execute(
                select(end_user_revocations.c.user_id, end_user_revocations.c.revoked_before).where(
                    end_user_revocations.c.tenant_id == tenant_id,
                    end_user_revocations.c.user_id.in_(user_ids[start : start + _IN_CHUNK]),
                )
            )
            found.update((user_id, before) for user_id, before in rows)
        return found


class UsedTokenRepository:
    """Token ids already used to open a session (parlour.keys.replay)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(self, tenant_id: str, digest: str, *, now: datetime, until: datetime) -> bool:
        """Record the token id as used until `until`; False if it already is. A row whose
        token has expired is claimed afresh."""
        claimed = await self._conn.execute(
            upsert(
                self._conn,
                used_token_ids,
                {"tenant_id": tenant_id, "token_digest": digest, "expires_at": until},
                keys=["tenant_id", "token_digest"],
                update=["expires_at"],
                where=used_token_ids.c.expires_at <= now,
            ).returning(used_token_ids.c.token_digest)
        )
        return claimed.first() is not None

    async def forget_expired(self, now: datetime) -> None:
        await self._conn.execute(delete(used_token_ids).where(used_token_ids.c.expires_at <= now))


# Bound the parameters of one IN (...): databases cap them, and huge lists plan badly.
_IN_CHUNK = 500


def _api_key(row: Row[tuple[object, ...]]) -> ApiKey:
    m = row._mapping
    return ApiKey(
        tenant_id=m["tenant_id"],
        key_id=m["key_id"],
        label=m["label"],
        digest=m["digest"],
        scopes=frozenset(Scope(s) for s in m["scopes"]),
        created_at=m["created_at"],
        expires_at=m["expires_at"],
        revoked_at=m["revoked_at"],
    )


def _signing_key(row: Row[tuple[object, ...]]) -> SigningKey:
    m = row._mapping
    return SigningKey(
        tenant_id=m["tenant_id"],
        kid=m["kid"],
        algorithm=m["algorithm"],
        public_key=bytes(m["public_key"]),
        private_key_sealed=bytes(m["private_key_sealed"]),
        created_at=m["created_at"],
        retired_at=m["retired_at"],
    )


def _client_key(row: Row[tuple[object, ...]]) -> ClientKey:
    m = row._mapping
    return ClientKey(
        tenant_id=m["tenant_id"],
        kid=m["kid"],
        algorithm=m["algorithm"],
        public_key_pem=m["public_key_pem"],
        created_at=m["created_at"],
        revoked_at=m["revoked_at"],
    )
