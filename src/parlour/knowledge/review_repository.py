"""SQL for the review queue: passages held back from retrieval until an administrator decides,
sealed like live knowledge with the tenant's data key, bound to their item and field.

Its own module because the queue is its own table and its own concept (knowledge/review.py):
nothing in it is live, and nothing live is read from it.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.crypto.vault import Place, TenantCipher
from parlour.knowledge.models import QuarantinedItem
from parlour.knowledge.repository import open_phrasings, seal_phrasings
from parlour.storage.tables import knowledge_quarantine

QUARANTINE = "knowledge_quarantine"


class QuarantineRepository:
    """Items screening held back, sealed like live knowledge; every method takes `tenant_id`."""

    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def drop_for_sources(self, tenant_id: str, source_ids: Sequence[str]) -> None:
        """A source replaced by a new upload of the same name: what it left waiting goes."""
        if source_ids:
            await self._conn.execute(
                delete(knowledge_quarantine).where(
                    knowledge_quarantine.c.tenant_id == tenant_id,
                    knowledge_quarantine.c.source_id.in_(source_ids),
                )
            )

    async def move_to_source(
        self, tenant_id: str, source_ids: Sequence[str], to_source_id: str
    ) -> None:
        """A source replaced by a copy that carries on its items awaiting review."""
        if source_ids:
            await self._conn.execute(
                update(knowledge_quarantine)
                .where(
                    knowledge_quarantine.c.tenant_id == tenant_id,
                    knowledge_quarantine.c.source_id.in_(source_ids),
                )
                .values(source_id=to_source_id)
            )

    async def add(self, tenant_id: str, items: Sequence[QuarantinedItem]) -> None:
        if items:
            seal = self._cipher.seal_text
            await self._conn.execute(
                insert(knowledge_quarantine),
                [
                    {
                        "tenant_id": tenant_id,
                        "item_id": i.item_id,
                        "question_sealed": seal(
                            i.question, Place(QUARANTINE, i.item_id, "question")
                        ),
                        "answer_sealed": seal(i.answer, Place(QUARANTINE, i.item_id, "answer")),
                        "phrasings_sealed": seal_phrasings(
                            self._cipher, i.phrasings, Place(QUARANTINE, i.item_id, "phrasings")
                        ),
                        "reasons": list(i.reasons),
                        "line": i.position,
                        "created_at": i.created_at,
                        "source_id": i.source_id,
                        "locator": i.locator,
                        "is_faq": i.is_faq,
                    }
                    for i in items
                ],
            )

    async def list(self, tenant_id: str) -> builtins.list[QuarantinedItem]:
        rows = await self._conn.execute(
            select(knowledge_quarantine)
            .where(knowledge_quarantine.c.tenant_id == tenant_id)
            .order_by(knowledge_quarantine.c.line)
        )
        return [self._item(row) for row in rows]

    async def get(self, tenant_id: str, item_id: str) -> QuarantinedItem | None:
        row = (
            await self._conn.execute(
                select(knowledge_quarantine).where(
                    knowledge_quarantine.c.tenant_id == tenant_id,
                    knowledge_quarantine.c.item_id == item_id,
                )
            )
        ).first()
        return self._item(row) if row else None

    async def take(self, tenant_id: str, item_id: str) -> QuarantinedItem | None:
        """The item, removed from the queue (None: no such item for this tenant)."""
        item = await self.get(tenant_id, item_id)
        if item is not None:
            await self._conn.execute(
                delete(knowledge_quarantine).where(
                    knowledge_quarantine.c.tenant_id == tenant_id,
                    knowledge_quarantine.c.item_id == item_id,
                )
            )
        return item

    def _item(self, row: Row[tuple[object, ...]]) -> QuarantinedItem:
        m = row._mapping
        item_id = m["item_id"]
        return QuarantinedItem(
            tenant_id=m["tenant_id"],
            item_id=item_id,
            question=self._cipher.open_text(
                m["question_sealed"], Place(QUARANTINE, item_id, "question")
            ),
            answer=self._cipher.open_text(m["answer_sealed"], Place(QUARANTINE, item_id, "answer")),
            phrasings=open_phrasings(
                self._cipher, m["phrasings_sealed"], Place(QUARANTINE, item_id, "phrasings")
            ),
            reasons=tuple(m["reasons"]),
            position=m["line"],
            created_at=m["created_at"],
            source_id=m["source_id"],
            locator=m["locator"],
            is_faq=m["is_faq"],
        )
