"""SQL for the questions the assistant could not answer: each sealed with the tenant's data key,
bound to its row and field, with its embedding sealed beside it; every method takes
`tenant_id`."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.crypto.vault import Place, TenantCipher
from parlour.knowledge.embeddings import Vectors
from parlour.knowledge.models import GapKind, UnansweredQuestion
from parlour.storage.tables import unanswered_questions

TABLE = "unanswered_questions"
_c = unanswered_questions.c


class GapRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def add(
        self, question: UnansweredQuestion, vector: Vectors | None, model: str | None
    ) -> None:
        place = Place(TABLE, question.question_id, "question")
        sealed_vector = None if vector is None else self._sealed(question.question_id, vector)
        await self._conn.execute(
            insert(unanswered_questions).values(
                tenant_id=question.tenant_id,
                question_id=question.question_id,
                conversation_id=question.conversation_id,
                asked_at=question.asked_at,
                question_sealed=self._cipher.seal_text(question.question, place),
                vector_sealed=sealed_vector,
                embedding_model=model if vector is not None else None,
                kind=question.kind.value,
            )
        )

    async def has(self, tenant_id: str, question_id: str) -> bool:
        """Whether this question is kept already (abstained on, or marked unhelpful)."""
        found = await self._conn.scalar(
            select(_c.question_id).where(_c.tenant_id == tenant_id, _c.question_id == question_id)
        )
        return found is not None

    async def set_vector(
        self, tenant_id: str, question_id: str, vector: Vectors, model: str
    ) -> None:
        """Keep a vector computed for a question after it was stored (by a report)."""
        await self._conn.execute(
            update(unanswered_questions)
            .where(_c.tenant_id == tenant_id, _c.question_id == question_id)
            .values(vector_sealed=self._sealed(question_id, vector), embedding_model=model)
        )

    def _sealed(self, question_id: str, vector: Vectors) -> bytes:
        raw = np.asarray(vector, dtype="<f4").tobytes()
        return self._cipher.seal(raw, Place(TABLE, question_id, "vector"))

    async def prune(self, tenant_id: str, *, before: datetime, keep: int) -> None:
        """Forget the tenant's questions asked before `before`, and all but the newest `keep`."""
        await self._conn.execute(
            delete(unanswered_questions).where(_c.tenant_id == tenant_id, _c.asked_at < before)
        )
        beyond = (
            select(_c.question_id)
            .where(_c.tenant_id == tenant_id)
            .order_by(_c.asked_at.desc(), _c.question_id.desc())
            .offset(keep)
        )
        await self._conn.execute(
            delete(unanswered_questions).where(
                _c.tenant_id == tenant_id, _c.question_id.in_(beyond.scalar_subquery())
            )
        )

    async def count(self, tenant_id: str, since: datetime, until: datetime) -> int:
        number = await self._conn.scalar(
            select(func.count()).where(
                _c.tenant_id == tenant_id, _c.asked_at >= since, _c.asked_at < until
            )
        )
        return int(number or 0)

    async def newest(
        self, tenant_id: str, since: datetime, until: datetime, *, limit: int, model: str | None
    ) -> list[tuple[UnansweredQuestion, Vectors | None]]:
        """The newest `limit` questions asked in [since, until), opened, each with its vector
        when it has one of `model`'s."""
        rows = await self._conn.execute(
            select(unanswered_questions)
            .where(_c.tenant_id == tenant_id, _c.asked_at >= since, _c.asked_at < until)
            .order_by(_c.asked_at.desc(), _c.question_id.desc())
            .limit(limit)
        )
        found = []
        for row in rows:
            vector = None
            m = row._mapping
            if (
                model is not None
                and m["vector_sealed"] is not None
                and m["embedding_model"] == model
            ):
                raw = self._cipher.open(
                    m["vector_sealed"], Place(TABLE, m["question_id"], "vector")
                )
                vector = np.frombuffer(raw, dtype="<f4")
            found.append((self._question(row), vector))
        return found

    async def get(self, tenant_id: str, question_id: str) -> UnansweredQuestion | None:
        row = (
            await self._conn.execute(
                select(unanswered_questions).where(
                    _c.tenant_id == tenant_id, _c.question_id == question_id
                )
            )
        ).first()
        return self._question(row) if row else None

    def _question(self, row: Row[tuple[object, ...]]) -> UnansweredQuestion:
        m = row._mapping
        question_id = m["question_id"]
        return UnansweredQuestion(
            tenant_id=m["tenant_id"],
            question_id=question_id,
            conversation_id=m["conversation_id"],
            asked_at=m["asked_at"],
            question=self._cipher.open_text(
                m["question_sealed"], Place(TABLE, question_id, "question")
            ),
            kind=GapKind(m["kind"]),
        )
