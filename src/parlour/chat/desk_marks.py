"""What the live desk keeps per member (docs/desk.md): how far each member has read each
conversation, for the Inbox's unread counts on any of their devices, and their desk preferences
in the organisation (browser notifications, a sound). A read mark only ever moves forward; both
are the member's own, in their own organisation's rows (row-level security on PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.database import Database
from parlour.storage.dialect import upsert
from parlour.storage.tables import desk_preferences, desk_reads
from parlour.storage.types import Clock, utcnow


@dataclass(frozen=True, slots=True)
class DeskPreferences:
    notify: bool = False  # browser notifications of new customers and messages
    sound: bool = False  # a short sound with them


class DeskMarkRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def mark(
        self, tenant_id: str, account_id: str, conversation_id: str, seq: int, at: datetime
    ) -> None:
        values = {
            "tenant_id": tenant_id,
            "account_id": account_id,
            "conversation_id": conversation_id,
            "read_seq": seq,
            "read_at": at,
        }
        keys = ["tenant_id", "account_id", "conversation_id"]
        # Forward only: a page that was behind never takes a mark back.
        forward = desk_reads.c.read_seq < seq
        await self._conn.execute(
            upsert(self._conn, desk_reads, values, keys, ["read_seq", "read_at"], where=forward)
        )

    async def reads(
        self, tenant_id: str, account_id: str, conversation_ids: list[str]
    ) -> dict[str, int]:
        if not conversation_ids:
            return {}
        rows = await self._conn.execute(
            select(desk_reads.c.conversation_id, desk_reads.c.read_seq).where(
                desk_reads.c.tenant_id == tenant_id,
                desk_reads.c.account_id == account_id,
                desk_reads.c.conversation_id.in_(conversation_ids),
            )
        )
        return {str(row.conversation_id): int(row.read_seq) for row in rows}

    async def preferences(self, tenant_id: str, account_id: str) -> DeskPreferences:
        row = (
            await self._conn.execute(
                select(desk_preferences.c.notify, desk_preferences.c.sound).where(
                    desk_preferences.c.tenant_id == tenant_id,
                    desk_preferences.c.account_id == account_id,
                )
            )
        ).first()
        return DeskPreferences(bool(row.notify), bool(row.sound)) if row else DeskPreferences()

    async def set_preferences(
        self, tenant_id: str, account_id: str, chosen: DeskPreferences, at: datetime
    ) -> None:
        values = {
            "tenant_id": tenant_id,
            "account_id": account_id,
            "notify": chosen.notify,
            "sound": chosen.sound,
            "updated_at": at,
        }
        keys = ["tenant_id", "account_id"]
        await self._conn.execute(
            upsert(self._conn, desk_preferences, values, keys, ["notify", "sound", "updated_at"])
        )


class DeskMarks:
    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def mark_read(
        self, tenant_id: str, account_id: str, conversation_id: str, seq: int
    ) -> None:
        """The member has read the conversation up to `seq` (the caller checked that the
        conversation is the organisation's and the number is in it)."""
        async with self._db.transaction(tenant_id) as conn:
            await DeskMarkRepository(conn).mark(
                tenant_id, account_id, conversation_id, seq, self._clock()
            )

    async def reads(
        self, tenant_id: str, account_id: str, conversation_ids: list[str]
    ) -> dict[str, int]:
        """How far the member has read each of these conversations, where they have."""
        async with self._db.read(tenant_id) as conn:
            return await DeskMarkRepository(conn).reads(tenant_id, account_id, conversation_ids)

    async def preferences(self, tenant_id: str, account_id: str) -> DeskPreferences:
        async with self._db.read(tenant_id) as conn:
            return await DeskMarkRepository(conn).preferences(tenant_id, account_id)

    async def set_preferences(
        self, tenant_id: str, account_id: str, chosen: DeskPreferences
    ) -> None:
        async with self._db.transaction(tenant_id) as conn:
            await DeskMarkRepository(conn).set_preferences(
                tenant_id, account_id, chosen, self._clock()
            )
