"""Importing a tenant's FAQ and searching it."""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict

from parlour.audit.events import Actor, FaqImported
from parlour.audit.service import AuditLog
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import InvalidInput, PayloadTooLarge
from parlour.knowledge.embeddings import Embedder
from parlour.knowledge.faq import parse_faq_csv
from parlour.knowledge.models import FaqEntry, Hit, ImportReport, RowError
from parlour.knowledge.repository import FaqRepository
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
        rows = []
        for row in parsed:
            # Held back, not stored: a poisoned entry would speak with the organisation's voice.
            if findings := screen(f"{row.question}\n{row.answer}"):
                reasons = "; ".join(f"{f.reason} ({f.detail})" for f in findings)
                errors.append(RowError(row.line, f"held back for review: {reasons}"))
            else:
                rows.append(row)
        errors.sort(key=lambda error: error.line)
        if not rows:
            raise InvalidInput(
                "the file has no usable FAQ entries",
                details={"errors": [{"line": e.line, "message": e.message} for e in errors]},
            )
        now = utcnow()
        entries = [
            FaqEntry(
                tenant_id=tenant_id,
                entry_id=str(uuid.uuid4()),
                question=row.question,
                answer=row.answer,
                created_at=now,
            )
            for row in rows
        ]
        vectors = None
        if self._embedder is not None:
            vectors = await asyncio.to_thread(self._embedder.embed, [e.question for e in entries])
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction() as conn:
            await FaqRepository(conn, cipher).replace_all(
                tenant_id,
                entries,
                vectors,
                embedding_model=self._embedder.model_id if self._embedder else None,
            )
            await self._audit.record(conn, tenant_id, FaqImported(len(entries), len(errors)), actor)
        return ImportReport(imported=len(entries), errors=errors)

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
