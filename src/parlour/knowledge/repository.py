"""SQL for FAQ entries; every method takes `tenant_id` first. Questions and answers are stored
sealed with the tenant's data key, bound to their entry and field."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.crypto.vault import Place, TenantCipher
from parlour.knowledge.models import FaqEntry
from parlour.storage.tables import faq_entries

TABLE = "faq_entries"


class FaqRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def replace_all(self, tenant_id: str, entries: Sequence[FaqEntry]) -> None:
        await self._conn.execute(delete(faq_entries).where(faq_entries.c.tenant_id == tenant_id))
        if entries:
            seal = self._cipher.seal_text
            await self._conn.execute(
                insert(faq_entries),
                [
                    {
                        "tenant_id": tenant_id,
                        "entry_id": e.entry_id,
                        "question_sealed": seal(e.question, Place(TABLE, e.entry_id, "question")),
                        "answer_sealed": seal(e.answer, Place(TABLE, e.entry_id, "answer")),
                        "created_at": e.created_at,
                    }
                    for e in entries
                ],
            )

    async def list(self, tenant_id: str) -> list[FaqEntry]:
        rows = await self._conn.execute(
            select(faq_entries)
            .where(faq_entries.c.tenant_id == tenant_id)
            .order_by(faq_entries.c.created_at, faq_entries.c.entry_id)
        )
        return [self._entry(row) for row in rows]

    def _entry(self, row: Row[tuple[object, ...]]) -> FaqEntry:
        m = row._mapping
        entry_id = m["entry_id"]
        return FaqEntry(
            tenant_id=m["tenant_id"],
            entry_id=entry_id,
            question=self._cipher.open_text(
                m["question_sealed"], Place(TABLE, entry_id, "question")
            ),
            answer=self._cipher.open_text(m["answer_sealed"], Place(TABLE, entry_id, "answer")),
            created_at=m["created_at"],
        )
