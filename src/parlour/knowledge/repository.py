"""SQL for FAQ entries; every method takes `tenant_id` first. Questions and answers are stored
sealed with the tenant's data key, bound to their entry and field."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Sequence

import numpy as np
from sqlalchemy import Row, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.crypto.vault import Place, TenantCipher
from parlour.knowledge.embeddings import Vectors
from parlour.knowledge.models import FaqEntry, QuarantinedItem
from parlour.storage.dialect import upsert
from parlour.storage.tables import faq_entries, knowledge_quarantine, knowledge_state
from parlour.storage.types import utcnow

TABLE = "faq_entries"


class FaqRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def replace_all(
        self,
        tenant_id: str,
        entries: Sequence[FaqEntry],
        vectors: Vectors | None = None,
        *,
        embedding_model: str | None = None,
    ) -> None:
        """The tenant's FAQ becomes `entries` (with their question embeddings, if given), and
        its knowledge version changes."""
        await self._conn.execute(delete(faq_entries).where(faq_entries.c.tenant_id == tenant_id))
        await self.add(tenant_id, entries, vectors, embedding_model=embedding_model)

    async def add(
        self,
        tenant_id: str,
        entries: Sequence[FaqEntry],
        vectors: Vectors | None,
        *,
        embedding_model: str | None,
    ) -> None:
        """Store more entries (with their vectors, if given); the knowledge version changes."""
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
                        "vector_sealed": None
                        if vectors is None
                        else self._cipher.seal(
                            vectors[i].astype("<f4").tobytes(), Place(TABLE, e.entry_id, "vector")
                        ),
                        "created_at": e.created_at,
                    }
                    for i, e in enumerate(entries)
                ],
            )
        await self._conn.execute(
            upsert(
                self._conn,
                knowledge_state,
                {
                    "tenant_id": tenant_id,
                    "version": str(uuid.uuid4()),
                    "embedding_model": embedding_model if vectors is not None else None,
                    "updated_at": utcnow(),
                },
                keys=["tenant_id"],
                update=["version", "embedding_model", "updated_at"],
            )
        )

    async def version(self, tenant_id: str) -> tuple[str, str | None] | None:
        """The tenant's knowledge version and the model its vectors come from."""
        row = (
            await self._conn.execute(
                select(knowledge_state.c.version, knowledge_state.c.embedding_model).where(
                    knowledge_state.c.tenant_id == tenant_id
                )
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def list(self, tenant_id: str) -> list[FaqEntry]:
        return (await self.list_with_vectors(tenant_id, dimension=None))[0]

    async def list_with_vectors(
        self, tenant_id: str, *, dimension: int | None
    ) -> tuple[builtins.list[FaqEntry], Vectors | None]:
        """The entries, and their vectors when every entry has one (`dimension` given)."""
        rows = (
            await self._conn.execute(
                select(faq_entries)
                .where(faq_entries.c.tenant_id == tenant_id)
                .order_by(faq_entries.c.created_at, faq_entries.c.entry_id)
            )
        ).all()
        entries = [self._entry(row) for row in rows]
        if dimension is None or any(row._mapping["vector_sealed"] is None for row in rows):
            return entries, None
        vectors = np.empty((len(rows), dimension), dtype=np.float32)
        for i, row in enumerate(rows):
            entry_id = row._mapping["entry_id"]
            raw = self._cipher.open(row._mapping["vector_sealed"], Place(TABLE, entry_id, "vector"))
            vectors[i] = np.frombuffer(raw, dtype="<f4")
        return entries, vectors

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


QUARANTINE = "knowledge_quarantine"


class QuarantineRepository:
    """Items screening held back, sealed like live knowledge; every method takes `tenant_id`."""

    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def replace_all(self, tenant_id: str, items: Sequence[QuarantinedItem]) -> None:
        """A new upload supersedes what the previous one left waiting."""
        await self._conn.execute(
            delete(knowledge_quarantine).where(knowledge_quarantine.c.tenant_id == tenant_id)
        )
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
                        "reasons": list(i.reasons),
                        "line": i.line,
                        "created_at": i.created_at,
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
            reasons=tuple(m["reasons"]),
            line=m["line"],
            created_at=m["created_at"],
        )
