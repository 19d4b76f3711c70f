"""SQL for learned phrasings (knowledge/learned.py); every method takes `tenant_id` first. The
phrasing and its vector are sealed with the tenant's data key, bound to the row and field."""

from __future__ import annotations

import builtins
from datetime import datetime

import numpy as np
from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.crypto.aead import DecryptionFailed
from parlour.crypto.vault import Place, TenantCipher
from parlour.knowledge.embeddings import Vectors
from parlour.knowledge.models import LearnedPhrasing
from parlour.observability import security_event
from parlour.storage.tables import knowledge_state, learned_phrasings

TABLE = "learned_phrasings"


class LearnedRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def add(
        self, phrasing: LearnedPhrasing, vector: Vectors | None, model: str | None
    ) -> None:
        place = Place(TABLE, phrasing.phrasing_id, "phrasing")
        await self._conn.execute(
            insert(learned_phrasings).values(
                tenant_id=phrasing.tenant_id,
                phrasing_id=phrasing.phrasing_id,
                entry_key=phrasing.entry_key,
                entry_id=phrasing.entry_id,
                phrasing_sealed=self._cipher.seal_text(phrasing.text, place),
                vector_sealed=None
                if vector is None
                else self._cipher.seal(
                    vector.astype("<f4").tobytes(), Place(TABLE, phrasing.phrasing_id, "vector")
                ),
                embedding_model=None if vector is None else model,
                created_at=phrasing.created_at,
            )
        )

    async def count(self, tenant_id: str, entry_key: str) -> int:
        found = await self._conn.execute(
            select(func.count()).where(
                learned_phrasings.c.tenant_id == tenant_id,
                learned_phrasings.c.entry_key == entry_key,
            )
        )
        return int(found.scalar_one())

    async def get(self, tenant_id: str, phrasing_id: str) -> LearnedPhrasing | None:
        row = (
            await self._conn.execute(
                select(learned_phrasings).where(
                    learned_phrasings.c.tenant_id == tenant_id,
                    learned_phrasings.c.phrasing_id == phrasing_id,
                )
            )
        ).first()
        return None if row is None else self._phrasing(row)

    async def of_keys(
        self, tenant_id: str, keys: builtins.list[str] | None = None
    ) -> builtins.list[LearnedPhrasing]:
        """The tenant's learned phrasings (of these entry keys only, if given), oldest first; one
        that no longer opens is left out and reported."""
        query = select(learned_phrasings).where(learned_phrasings.c.tenant_id == tenant_id)
        if keys is not None:
            query = query.where(learned_phrasings.c.entry_key.in_(keys))
        rows = await self._conn.execute(
            query.order_by(learned_phrasings.c.created_at, learned_phrasings.c.phrasing_id)
        )
        return [p for row in rows if (p := self._intact(row)) is not None]

    async def for_index(
        self, tenant_id: str, *, model: str | None, dimension: int | None
    ) -> dict[str, builtins.list[tuple[str, Vectors | None]]]:
        """Every learned phrasing by entry key, with its vector when it has one of `model`."""
        found: dict[str, builtins.list[tuple[str, Vectors | None]]] = {}
        rows = await self._conn.execute(
            select(learned_phrasings)
            .where(learned_phrasings.c.tenant_id == tenant_id)
            .order_by(learned_phrasings.c.created_at, learned_phrasings.c.phrasing_id)
        )
        for row in rows:
            phrasing = self._intact(row)
            if phrasing is None:
                continue
            m = row._mapping
            vector = None
            if (
                dimension is not None
                and m["vector_sealed"] is not None
                and m["embedding_model"] == model
            ):
                try:
                    raw = self._cipher.open(
                        m["vector_sealed"], Place(TABLE, phrasing.phrasing_id, "vector")
                    )
                    vector = np.frombuffer(raw, dtype="<f4").reshape(-1, dimension)
                except (DecryptionFailed, ValueError):
                    _report(tenant_id, phrasing.phrasing_id)
            found.setdefault(phrasing.entry_key, []).append((phrasing.text, vector))
        return found

    async def remove(self, tenant_id: str, phrasing_id: str) -> bool:
        result = await self._conn.execute(
            delete(learned_phrasings).where(
                learned_phrasings.c.tenant_id == tenant_id,
                learned_phrasings.c.phrasing_id == phrasing_id,
            )
        )
        return bool(result.rowcount)

    async def changed(self, tenant_id: str, at: datetime, token: str) -> None:
        """What is matched changed: every node's cached index of the tenant notices the new
        knowledge state token (KnowledgeService._index). No state: no knowledge to index."""
        await self._conn.execute(
            update(knowledge_state)
            .where(knowledge_state.c.tenant_id == tenant_id)
            .values(version=token, updated_at=at)
        )

    def _intact(self, row: Row[tuple[object, ...]]) -> LearnedPhrasing | None:
        try:
            return self._phrasing(row)
        except DecryptionFailed:
            _report(row._mapping["tenant_id"], row._mapping["phrasing_id"])
            return None

    def _phrasing(self, row: Row[tuple[object, ...]]) -> LearnedPhrasing:
        m = row._mapping
        phrasing_id = m["phrasing_id"]
        return LearnedPhrasing(
            tenant_id=m["tenant_id"],
            phrasing_id=phrasing_id,
            entry_key=m["entry_key"],
            entry_id=m["entry_id"],
            text=self._cipher.open_text(
                m["phrasing_sealed"], Place(TABLE, phrasing_id, "phrasing")
            ),
            created_at=m["created_at"],
        )


def _report(tenant_id: str, phrasing_id: str) -> None:
    security_event(
        "knowledge.learned_phrasing_unreadable", tenant_id=tenant_id, phrasing_id=phrasing_id
    )
