"""Importing a tenant's FAQ and searching it."""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict

from parlour.audit.events import Actor, FaqImported, KnowledgeItemDecided
from parlour.audit.service import AuditLog
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import InvalidInput, NotFound, PayloadTooLarge
from parlour.knowledge.embeddings import Embedder, Vectors
from parlour.knowledge.faq import parse_faq_csv
from parlour.knowledge.models import FaqEntry, Hit, ImportReport, QuarantinedItem
from parlour.knowledge.repository import FaqRepository, QuarantineRepository
from parlour.knowledge.retrieval import HybridIndex
from parlour.knowledge.screening import screen
from parlour.storage.database import Database
from parlour.storage.types import utcnow


class KnowledgeService:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        *,
        max_faq_bytes: int,
        max_entries: int,
        max_field_chars: int,
        embedder: Embedder | None,
        cached_indexes: int = 64,
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self.max_faq_bytes = max_faq_bytes
        self._max_entries = max_entries
        self._max_field_chars = max_field_chars
        self._embedder = embedder
        # tenant -> (knowledge version, index), least recently used first. Each index holds one
        # tenant's entries; a node rebuilds it when the version in the database moves on.
        self._indexes: OrderedDict[str, tuple[str, HybridIndex]] = OrderedDict()
        self._cached_indexes = cached_indexes

    async def import_faq_csv(self, tenant_id: str, data: bytes, *, actor: Actor) -> ImportReport:
        """Replace the tenant's FAQ with the file's good rows; report the bad ones by line."""
        if len(data) > self.max_faq_bytes:
            raise PayloadTooLarge(f"an FAQ file may be at most {self.max_faq_bytes} bytes")
        parsed, errors = parse_faq_csv(
            data, max_entries=self._max_entries, max_field_chars=self._max_field_chars
        )
        now = utcnow()
        entries: list[FaqEntry] = []
        held: list[QuarantinedItem] = []
        for row in parsed:
            # A poisoned entry would speak with the organisation's voice: it waits for review.
            if findings := screen(f"{row.question}\n{row.answer}"):
                reasons = tuple(f"{f.reason}: {f.detail}" for f in findings)
                held.append(
                    QuarantinedItem(
                        tenant_id,
                        str(uuid.uuid4()),
                        row.question,
                        row.answer,
                        reasons,
                        row.line,
                        now,
                    )
                )
            else:
                entries.append(
                    FaqEntry(tenant_id, str(uuid.uuid4()), row.question, row.answer, now)
                )
        if not entries and not held:
            raise InvalidInput(
                "the file has no usable FAQ entries",
                details={"errors": [{"line": e.line, "message": e.message} for e in errors]},
            )
        vectors = await self._embed(entries)
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction() as conn:
            await FaqRepository(conn, cipher).replace_all(
                tenant_id, entries, vectors, embedding_model=self._model_id
            )
            await QuarantineRepository(conn, cipher).replace_all(tenant_id, held)
            event = FaqImported(len(entries), len(errors), quarantined=len(held))
            await self._audit.record(conn, tenant_id, event, actor)
        return ImportReport(imported=len(entries), errors=errors, quarantined=held)

    async def quarantined(self, tenant_id: str) -> list[QuarantinedItem]:
        async def read(cipher: TenantCipher) -> list[QuarantinedItem]:
            async with self._db.read() as conn:
                return await QuarantineRepository(conn, cipher).list(tenant_id)

        return await self._vault.using(tenant_id, read)

    async def decide(
        self, tenant_id: str, item_id: str, *, approve: bool, actor: Actor
    ) -> FaqEntry | None:
        """An administrator's decision on a held-back item, audited: approved, it goes live
        (the new entry is returned); rejected, it is deleted."""
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.read() as conn:
            item = await QuarantineRepository(conn, cipher).get(tenant_id, item_id)
        if item is None:
            raise NotFound("no such item awaiting review")
        entry = FaqEntry(tenant_id, str(uuid.uuid4()), item.question, item.answer, utcnow())
        vectors = await self._embed([entry]) if approve else None
        async with self._db.transaction() as conn:
            if await QuarantineRepository(conn, cipher).take(tenant_id, item_id) is None:
                raise NotFound("no such item awaiting review")  # decided meanwhile
            if approve:
                await FaqRepository(conn, cipher).add(
                    tenant_id, [entry], vectors, embedding_model=self._model_id
                )
            reasons = "; ".join(item.reasons)
            await self._audit.record(
                conn, tenant_id, KnowledgeItemDecided(item_id, approve, reasons), actor
            )
        return entry if approve else None

    async def _embed(self, entries: list[FaqEntry]) -> Vectors | None:
        if self._embedder is None:
            return None
        return await asyncio.to_thread(self._embedder.embed, [e.question for e in entries])

    @property
    def _model_id(self) -> str | None:
        return self._embedder.model_id if self._embedder else None

    async def faq_entries(self, tenant_id: str) -> list[FaqEntry]:
        async def read(cipher: TenantCipher) -> list[FaqEntry]:
            async with self._db.read() as conn:
                return await FaqRepository(conn, cipher).list(tenant_id)

        return await self._vault.using(tenant_id, read)

    async def search(self, tenant_id: str, query: str, *, limit: int = 3) -> list[Hit]:
        """The tenant's best entries for `query`, lexical and dense results fused by rank."""
        index = await self._index(tenant_id)
        query_vector = None
        if index.dense is not None and self._embedder is not None:
            query_vector = (await asyncio.to_thread(self._embedder.embed, [query]))[0]
        return index.search(query, query_vector, limit)

    async def _index(self, tenant_id: str) -> HybridIndex:
        embedder = self._embedder

        async def read(cipher: TenantCipher) -> tuple[str, HybridIndex]:
            async with self._db.read() as conn:
                repository = FaqRepository(conn, cipher)
                state = await repository.version(tenant_id)
                version = state[0] if state else ""
                cached = self._indexes.get(tenant_id)
                if cached is not None and cached[0] == version:
                    return cached
                # Vectors from another model (or none) are not comparable with this one's queries.
                dimension = None
                if embedder is not None and state is not None and state[1] == embedder.model_id:
                    dimension = embedder.dimension
                entries, vectors = await repository.list_with_vectors(
                    tenant_id, dimension=dimension
                )
            return version, HybridIndex(entries, vectors)

        version, index = await self._vault.using(tenant_id, read)
        self._indexes[tenant_id] = (version, index)
        self._indexes.move_to_end(tenant_id)
        while len(self._indexes) > self._cached_indexes:
            self._indexes.popitem(last=False)
        return index
