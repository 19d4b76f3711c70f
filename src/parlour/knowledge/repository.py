"""SQL for FAQ entries; every method takes `tenant_id` first."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.knowledge.models import FaqEntry
from parlour.storage.tables import faq_entries


class FaqRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def replace_all(self, tenant_id: str, entries: Sequence[FaqEntry]) -> None:
        await self._conn.execute(delete(faq_entries).where(faq_entries.c.tenant_id == tenant_id))
        if entries:
            await self._conn.execute(
                insert(faq_entries),
                [
                    {
                        "tenant_id": tenant_id,
                        "entry_id": e.entry_id,
                        "question": e.question,
                        "answer": e.answer,
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
        return [_entry(row) for row in rows]


def _entry(row: Row[tuple[object, ...]]) -> FaqEntry:
    m = row._mapping
    return FaqEntry(
        tenant_id=m["tenant_id"],
        entry_id=m["entry_id"],
        question=m["question"],
        answer=m["answer"],
        created_at=m["created_at"],
    )
