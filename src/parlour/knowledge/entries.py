"""FAQ entries typed in the dashboard, one at a time: they live in one source of their own,
`dashboard-entries.csv`, which each new entry replaces with a copy one row longer. So an entry
typed by hand makes a new version, is screened and held back for review like any upload, and is
audited as an upload is (`KnowledgeService.entries.add`); nothing bypasses the upload path.

The file is rebuilt from the source's live entries, in the order they were added; the entries
still awaiting review stay in the queue as they are, moved to the new copy (so a passage the
output filter took back never goes live again by passing screening).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from parlour.audit.events import Actor
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import Conflict, InvalidInput
from parlour.knowledge.faq import FaqRow, faq_file
from parlour.knowledge.formats import SourceKind
from parlour.knowledge.models import FaqEntry, ImportReport, Replacing
from parlour.knowledge.repository import FaqRepository, SourceRepository
from parlour.storage.database import Database

SOURCE_NAME = "dashboard-entries.csv"
_PLACE = re.compile(r"(?:line|item) (\d+)")
ATTEMPTS = 3  # an entry added meanwhile by another member: built on, this many times at most


class Upload(Protocol):
    """`KnowledgeService.upload`: a source stored as a new version, screened and audited."""

    async def __call__(
        self,
        tenant_id: str,
        name: str,
        data: bytes,
        *,
        actor: Actor,
        replacing: Replacing | None = None,
    ) -> ImportReport: ...


class DashboardEntries:
    def __init__(self, db: Database, vault: Vault, upload: Upload, *, max_field_chars: int) -> None:
        self._db = db
        self._vault = vault
        self._upload = upload
        self._max_field_chars = max_field_chars

    async def add(
        self, tenant_id: str, question: str, answer: str, *, actor: Actor
    ) -> ImportReport:
        """One FAQ entry typed in the dashboard, published in a new version: the dashboard's
        own source one row longer, uploaded (screened, audited) like any file."""
        for _ in range(ATTEMPTS):
            base, rows = await self._rows(tenant_id)
            data = grown_source(rows, question, answer, max_chars=self._max_field_chars)
            try:
                return await self._upload(
                    tenant_id, SOURCE_NAME, data, actor=actor, replacing=Replacing(base)
                )
            except Conflict:
                continue  # another entry was added meanwhile: build on it
        raise Conflict("The knowledge changed while the entry was saved; try again.")

    async def _rows(self, tenant_id: str) -> tuple[str | None, list[FaqEntry]]:
        """The dashboard source of the latest version, and its live entries (those awaiting
        review carry over as they are: a passage the output filter took back must not go live
        again by passing screening)."""

        async def read(cipher: TenantCipher) -> tuple[str | None, list[FaqEntry]]:
            async with self._db.read(tenant_id) as conn:
                sources = SourceRepository(conn)
                latest = await sources.sources_of(tenant_id, await sources.latest_number(tenant_id))
                base = next((s.source_id for s in latest if s.name == SOURCE_NAME), None)
                if base is None:
                    return None, []
                live = await FaqRepository(conn, cipher).of_source(tenant_id, base)
            return base, live

        return await self._vault.using(tenant_id, read)


def grown_source(
    current: Sequence[FaqEntry], question: str, answer: str, *, max_chars: int
) -> bytes:
    """The source's CSV with one more row: `current` holds the entries the source has now, in
    any order; they keep their order (by line), with their phrasings, and the new row comes
    last."""
    question, answer = question.strip(), answer.strip()
    if not question or not answer:
        raise InvalidInput("An entry needs a question and an answer.")
    if len(question) > max_chars or len(answer) > max_chars:
        raise InvalidInput(f"A question or answer may be at most {max_chars} characters.")
    rows = [FaqRow(e.question, e.answer, phrasings=e.phrasings) for e in in_source_order(current)]
    return faq_file(SourceKind.FAQ_CSV, [*rows, FaqRow(question, answer)])


def in_source_order(entries: Sequence[FaqEntry]) -> list[FaqEntry]:
    """A source's entries in the order of the file they came from (by line or item)."""
    return sorted(entries, key=lambda entry: _place(entry.locator))


def _place(locator: str) -> int:
    match = _PLACE.fullmatch(locator)
    return int(match[1]) if match else 0
