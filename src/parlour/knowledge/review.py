"""The review queue: passages held back from retrieval until an administrator decides.

Its own concept because it has its own rules, apart from uploading and searching: what
screening holds back from an upload and why, listing what waits, an administrator's decision
(approved, a passage joins its source; rejected, it is deleted), and taking a live passage back
when the assistant's output filter stopped an answer reciting it. Every decision and every
passage taken back is audited. Its SQL is knowledge/review_repository.py.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from parlour.audit.events import Actor, KnowledgeItemDecided, KnowledgeItemFlaggedAgain
from parlour.audit.service import AuditLog
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import NotFound
from parlour.knowledge.documents import Passage
from parlour.knowledge.embeddings import Embedder, embed_entries
from parlour.knowledge.models import FaqEntry, QuarantinedItem
from parlour.knowledge.repository import FaqRepository, SourceRepository
from parlour.knowledge.review_repository import QuarantineRepository
from parlour.knowledge.screening import screen
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow


class ReviewQueue:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        *,
        embedder: Embedder | None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._clock = clock
        self._vault = vault
        self._audit = audit
        self._embedder = embedder

    async def quarantined(self, tenant_id: str) -> list[QuarantinedItem]:
        async def read(cipher: TenantCipher) -> list[QuarantinedItem]:
            async with self._db.read(tenant_id) as conn:
                return await QuarantineRepository(conn, cipher).list(tenant_id)

        return await self._vault.using(tenant_id, read)

    async def decide(
        self, tenant_id: str, item_id: str, *, approve: bool, actor: Actor
    ) -> FaqEntry | None:
        """An administrator's decision on a held-back item, audited: approved, it joins its
        source (and is live wherever that source is published); rejected, it is deleted."""
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.read(tenant_id) as conn:
            item = await QuarantineRepository(conn, cipher).get(tenant_id, item_id)
        if item is None:
            raise NotFound("no such item awaiting review")
        entry = FaqEntry(
            tenant_id,
            str(uuid.uuid4()),
            item.question,
            item.answer,
            self._clock(),
            source_id=item.source_id,
            locator=item.locator,
            is_faq=item.is_faq,
            phrasings=item.phrasings,
        )
        vectors = await embed_entries(self._embedder, [entry]) if approve else None
        async with self._db.transaction(tenant_id) as conn:
            if await QuarantineRepository(conn, cipher).take(tenant_id, item_id) is None:
                raise NotFound("no such item awaiting review")  # decided meanwhile
            if approve:
                await FaqRepository(conn, cipher).add(tenant_id, [entry], vectors)
                sources = SourceRepository(conn)
                state = await sources.state(tenant_id)
                published = state[2] if state else None
                await sources.set_state(
                    tenant_id,
                    published=published,
                    embedding_model=self._model_id,
                    at=self._clock(),
                )
            reasons = "; ".join(item.reasons)
            await self._audit.record(
                conn, tenant_id, KnowledgeItemDecided(item_id, approve, reasons), actor
            )
        return entry if approve else None

    async def flag_again(
        self, tenant_id: str, entry_id: str, reasons: Sequence[str], *, actor: Actor
    ) -> QuarantinedItem | None:
        """Take a live passage back to the review queue with new reasons, audited: it leaves
        retrieval until an administrator decides again (approving puts it back in its source).
        None when the entry is already gone (taken back meanwhile, or its source replaced)."""
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction(tenant_id) as conn:
            entry = await FaqRepository(conn, cipher).take(tenant_id, entry_id)
            if entry is None:
                return None
            item = QuarantinedItem(
                tenant_id,
                str(uuid.uuid4()),
                entry.question,
                entry.answer,
                tuple(reasons),
                0,
                self._clock(),
                source_id=entry.source_id,
                locator=entry.locator,
                is_faq=entry.is_faq,
                phrasings=entry.phrasings,
            )
            await QuarantineRepository(conn, cipher).add(tenant_id, [item])
            sources = SourceRepository(conn)
            state = await sources.state(tenant_id)
            await sources.set_state(
                tenant_id,
                published=state[2] if state else None,
                embedding_model=state[1] if state else self._model_id,
                at=self._clock(),
            )
            event = KnowledgeItemFlaggedAgain(item.item_id, entry_id, "; ".join(reasons))
            await self._audit.record(conn, tenant_id, event, actor)
        return item

    @property
    def _model_id(self) -> str | None:
        return self._embedder.model_id if self._embedder else None


def reasons_to_hold(passage: Passage) -> tuple[str, ...]:
    """Why screening holds an uploaded passage back for review (nothing: it goes live)."""
    if passage.is_faq:
        findings = [
            *screen(passage.title, question=True),
            *(finding for p in passage.phrasings for finding in screen(p, question=True)),
            *screen(passage.text, context=passage.title),
        ]
    else:
        findings = screen(f"{passage.title}\n{passage.text}")
    unique = dict.fromkeys(f"{f.reason}: {f.detail}" for f in findings)
    return (*(f"hidden_text: {h}" for h in passage.hidden), *unique)


def held_back(
    tenant_id: str,
    source_id: str,
    passage: Passage,
    reasons: Sequence[str],
    number: int,
    now: datetime,
) -> QuarantinedItem:
    """An uploaded passage as it waits in the queue: its place in its source, and why."""
    return QuarantinedItem(
        tenant_id,
        str(uuid.uuid4()),
        passage.title,
        passage.text,
        tuple(reasons),
        number,
        now,
        source_id=source_id,
        locator=passage.where,
        is_faq=passage.is_faq,
        phrasings=passage.phrasings,
    )
