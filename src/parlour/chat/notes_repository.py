"""SQL for private notes (chat/notes.py): their own table, never `messages`, so nothing that reads
a conversation's messages can meet one (T-99). Bodies are sealed with the tenant's data key,
bound to their note."""

from __future__ import annotations

from sqlalchemy import Row, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.chat.models import Note
from parlour.crypto.vault import Place, TenantCipher
from parlour.storage.tables import conversation_notes

TABLE = "conversation_notes"
n = conversation_notes.c


class NoteRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def insert(self, note: Note) -> None:
        await self._conn.execute(
            insert(conversation_notes).values(
                tenant_id=note.tenant_id,
                note_id=note.note_id,
                conversation_id=note.conversation_id,
                author_id=note.author_id,
                body_sealed=self._cipher.seal_text(note.body, _place(note.note_id)),
                created_at=note.created_at,
            )
        )

    async def latest(self, tenant_id: str, conversation_id: str, limit: int) -> list[Note]:
        """The conversation's latest `limit` notes, oldest first."""
        rows = await self._conn.execute(
            select(conversation_notes)
            .where(n.tenant_id == tenant_id, n.conversation_id == conversation_id)
            .order_by(n.created_at.desc(), n.note_id.desc())
            .limit(limit)
        )
        return [self._note(row) for row in reversed(rows.all())]

    async def get(self, tenant_id: str, conversation_id: str, note_id: str) -> Note | None:
        """One note of the conversation, or None."""
        rows = await self._conn.execute(
            select(conversation_notes).where(
                n.tenant_id == tenant_id,
                n.conversation_id == conversation_id,
                n.note_id == note_id,
            )
        )
        row = rows.first()
        return self._note(row) if row is not None else None

    def _note(self, row: Row[tuple[object, ...]]) -> Note:
        m = row._mapping
        return Note(
            tenant_id=m["tenant_id"],
            conversation_id=m["conversation_id"],
            note_id=m["note_id"],
            author_id=m["author_id"],
            body=self._cipher.open_text(m["body_sealed"], _place(m["note_id"])),
            created_at=m["created_at"],
        )


def _place(note_id: str) -> Place:
    return Place(TABLE, note_id, "body")
