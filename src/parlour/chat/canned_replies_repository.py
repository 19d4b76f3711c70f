"""SQL for an organisation's canned replies (chat/canned_replies.py): the shortcut in the clear
(a name the organisation chose, unique in it), the body sealed with the tenant's data key, bound
to its reply."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.chat.models import CannedReply
from parlour.crypto.vault import Place, TenantCipher
from parlour.storage.tables import canned_replies

TABLE = "canned_replies"
r = canned_replies.c


class CannedReplyRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def insert(self, reply: CannedReply) -> None:
        await self._conn.execute(
            insert(canned_replies).values(
                tenant_id=reply.tenant_id,
                reply_id=reply.reply_id,
                shortcut=reply.shortcut,
                body_sealed=self._cipher.seal_text(reply.body, _place(reply.reply_id)),
                created_at=reply.created_at,
                updated_at=reply.updated_at,
            )
        )

    async def replace(
        self, tenant_id: str, reply_id: str, shortcut: str, body: str, at: datetime
    ) -> bool:
        result = await self._conn.execute(
            update(canned_replies)
            .where(r.tenant_id == tenant_id, r.reply_id == reply_id)
            .values(
                shortcut=shortcut,
                body_sealed=self._cipher.seal_text(body, _place(reply_id)),
                updated_at=at,
            )
        )
        return bool(result.rowcount)

    async def delete(self, tenant_id: str, reply_id: str) -> bool:
        result = await self._conn.execute(
            delete(canned_replies).where(r.tenant_id == tenant_id, r.reply_id == reply_id)
        )
        return bool(result.rowcount)

    async def count(self, tenant_id: str) -> int:
        counted = await self._conn.scalar(
            select(func.count()).select_from(canned_replies).where(r.tenant_id == tenant_id)
        )
        return int(counted or 0)

    async def get(self, tenant_id: str, reply_id: str) -> CannedReply | None:
        row = (
            await self._conn.execute(
                select(canned_replies).where(r.tenant_id == tenant_id, r.reply_id == reply_id)
            )
        ).first()
        return self._reply(row) if row else None

    async def by_shortcut(self, tenant_id: str, shortcut: str) -> CannedReply | None:
        row = (
            await self._conn.execute(
                select(canned_replies).where(r.tenant_id == tenant_id, r.shortcut == shortcut)
            )
        ).first()
        return self._reply(row) if row else None

    async def holder_of(self, tenant_id: str, shortcut: str) -> str | None:
        """The reply that has this shortcut, if any (without opening its body)."""
        found: str | None = await self._conn.scalar(
            select(r.reply_id).where(r.tenant_id == tenant_id, r.shortcut == shortcut)
        )
        return found

    async def all(self, tenant_id: str) -> list[CannedReply]:
        rows = await self._conn.execute(
            select(canned_replies).where(r.tenant_id == tenant_id).order_by(r.shortcut)
        )
        return [self._reply(row) for row in rows]

    def _reply(self, row: Row[tuple[object, ...]]) -> CannedReply:
        m = row._mapping
        return CannedReply(
            tenant_id=m["tenant_id"],
            reply_id=m["reply_id"],
            shortcut=m["shortcut"],
            body=self._cipher.open_text(m["body_sealed"], _place(m["reply_id"])),
            created_at=m["created_at"],
            updated_at=m["updated_at"],
        )


def _place(reply_id: str) -> Place:
    return Place(TABLE, reply_id, "body")
