"""Importing a tenant's FAQ and searching it."""

from __future__ import annotations

import uuid

from parlour.audit.events import Actor, FaqImported
from parlour.audit.service import AuditLog
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import InvalidInput, PayloadTooLarge
from parlour.knowledge.faq import parse_faq_csv
from parlour.knowledge.lexical import LexicalIndex
from parlour.knowledge.models import FaqEntry, Hit, ImportReport
from parlour.knowledge.repository import FaqRepository
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
    ) -> None:
        self._db = db
        self._vault = vault
        self._audit = audit
        self.max_faq_bytes = max_faq_bytes
        self._max_entries = max_entries
        self._max_field_chars = max_field_chars

    async def import_faq_csv(self, tenant_id: str, data: bytes, *, actor: Actor) -> ImportReport:
        """Replace the tenant's FAQ with the file's good rows; report the bad ones by line."""
        if len(data) > self.max_faq_bytes:
            raise PayloadTooLarge(f"an FAQ file may be at most {self.max_faq_bytes} bytes")
        rows, errors = parse_faq_csv(
            data, max_entries=self._max_entries, max_field_chars=self._max_field_chars
        )
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
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.transaction() as conn:
            await FaqRepository(conn, cipher).replace_all(tenant_id, entries)
            await self._audit.record(conn, tenant_id, FaqImported(len(entries), len(errors)), actor)
        return ImportReport(imported=len(entries), errors=errors)

    async def faq_entries(self, tenant_id: str) -> list[FaqEntry]:
        async def read(cipher: TenantCipher) -> list[FaqEntry]:
            async with self._db.read() as conn:
                return await FaqRepository(conn, cipher).list(tenant_id)

        return await self._vault.using(tenant_id, read)

    async def search(self, tenant_id: str, query: str, *, limit: int = 3) -> list[Hit]:
        # Built per query from this tenant's rows only; small FAQ sets make this cheap, and it can
        # never serve another tenant's or a stale index. Issue 5 brings a persistent index.
        entries = await self.faq_entries(tenant_id)
        return LexicalIndex(entries).search(query, limit)
