"""What an organisation knows of its end users from their verified tokens: the latest claims
(`traits`: name and e-mail, as its backend signed them), sealed with its data key and bound to
the end user's row, kept when a socket is admitted or renewed with a token. A visitor's
identity is made by Parlour, not vouched for by the organisation, and is never kept here; no
other source (a frame, a form) ever writes a profile."""

from __future__ import annotations

import json
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.chat.models import Conversation
from parlour.chat.repository import ConversationRepository
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.keys.models import EndUser
from parlour.storage.database import Database
from parlour.storage.dialect import upsert
from parlour.storage.tables import conversations, end_user_profiles
from parlour.storage.types import Clock, utcnow

TABLE = "end_user_profiles"


@dataclass(frozen=True, slots=True)
class Profile:
    """An end user's latest verified claims; `verified_at`: when the token was issued."""

    tenant_id: str
    user_id: str
    traits: dict[str, str] = field(default_factory=dict)
    verified_at: datetime | None = None


class ProfileRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def put(self, profile: Profile) -> None:
        """The profile, in place of an older one (a token issued no later is not newer)."""
        sealed = self._cipher.seal_text(
            json.dumps(profile.traits, sort_keys=True),
            Place(TABLE, profile.user_id, "traits"),
        )
        p = end_user_profiles.c
        await self._conn.execute(
            upsert(
                self._conn,
                end_user_profiles,
                {
                    "tenant_id": profile.tenant_id,
                    "user_id": profile.user_id,
                    "traits_sealed": sealed,
                    "verified_at": profile.verified_at,
                },
                ["tenant_id", "user_id"],
                ["traits_sealed", "verified_at"],
                where=p.verified_at <= profile.verified_at,
            )
        )

    async def get(self, tenant_id: str, user_id: str) -> Profile | None:
        p = end_user_profiles.c
        row = (
            await self._conn.execute(
                select(p.traits_sealed, p.verified_at).where(
                    p.tenant_id == tenant_id, p.user_id == user_id
                )
            )
        ).first()
        if row is None:
            return None
        traits = json.loads(self._cipher.open_text(row[0], Place(TABLE, user_id, "traits")))
        return Profile(tenant_id, user_id, dict(traits), row[1])


class CustomerProfiles:
    def __init__(self, db: Database, vault: Vault, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._vault = vault
        self._clock = clock

    async def remember(self, user: EndUser) -> None:
        """Keep a verified end user's claims (a visitor's: nothing)."""
        if user.visitor:
            return
        cipher = await self._vault.cipher(user.tenant_id)
        profile = Profile(
            user.tenant_id, user.user_id, dict(user.traits), user.issued_at or self._clock()
        )
        async with self._db.transaction(user.tenant_id) as conn:
            await ProfileRepository(conn, cipher).put(profile)

    async def profile(self, tenant_id: str, user_id: str) -> Profile | None:
        async def read(cipher: TenantCipher) -> Profile | None:
            async with self._db.read(tenant_id) as conn:
                return await ProfileRepository(conn, cipher).get(tenant_id, user_id)

        return await self._vault.using(tenant_id, read)

    async def conversations_of(
        self, tenant_id: str, user_id: str, *, limit: int
    ) -> list[Conversation]:
        """The end user's conversations, the newest first."""
        c = conversations.c
        async with self._db.read(tenant_id) as conn:
            rows = await conn.execute(
                select(c.conversation_id)
                .where(c.tenant_id == tenant_id, c.end_user_id == user_id)
                .order_by(c.created_at.desc())
                .limit(limit)
            )
            ids: Collection[str] = [str(r[0]) for r in rows]
            found = await ConversationRepository(conn).get_many(tenant_id, ids)
        return [found[i] for i in ids if i in found]
