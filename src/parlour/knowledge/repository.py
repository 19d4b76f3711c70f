"""SQL for knowledge: entries, sources and versions (the review queue's is in
knowledge/review_repository.py); every method takes `tenant_id` first. Questions, answers and
vectors are stored sealed with the tenant's data key, bound to their entry and field."""

from __future__ import annotations

import builtins
import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

import numpy as np
from sqlalchemy import ColumnElement, Row, Table, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.crypto.aead import DecryptionFailed
from parlour.crypto.vault import Place, TenantCipher
from parlour.knowledge.embeddings import Vectors
from parlour.knowledge.models import FaqEntry, Source
from parlour.observability import security_event
from parlour.storage.dialect import upsert
from parlour.storage.tables import (
    faq_entries,
    knowledge_sources,
    knowledge_state,
    knowledge_version_sources,
    knowledge_versions,
)

TABLE = "faq_entries"


class FaqRepository:
    def __init__(self, conn: AsyncConnection, cipher: TenantCipher) -> None:
        self._conn = conn
        self._cipher = cipher

    async def add(
        self, tenant_id: str, entries: Sequence[FaqEntry], vectors: Sequence[Vectors] | None
    ) -> None:
        """Store entries (with their vectors, if given: a row per text the entry is matched by)
        and the hash of each one's content."""
        if not entries:
            return
        seal = self._cipher.seal_text
        await self._conn.execute(
            insert(faq_entries),
            [
                {
                    "tenant_id": tenant_id,
                    "entry_id": e.entry_id,
                    "question_sealed": seal(e.question, Place(TABLE, e.entry_id, "question")),
                    "answer_sealed": seal(e.answer, Place(TABLE, e.entry_id, "answer")),
                    "phrasings_sealed": seal_phrasings(
                        self._cipher, e.phrasings, Place(TABLE, e.entry_id, "phrasings")
                    ),
                    "vector_sealed": None
                    if vectors is None
                    else self._cipher.seal(
                        vectors[i].astype("<f4").tobytes(), Place(TABLE, e.entry_id, "vector")
                    ),
                    "created_at": e.created_at,
                    "source_id": e.source_id,
                    "locator": e.locator,
                    "is_faq": e.is_faq,
                    "content_hash": content_hash(e),
                }
                for i, e in enumerate(entries)
            ],
        )

    async def take(self, tenant_id: str, entry_id: str) -> FaqEntry | None:
        """The entry, removed from every version it was live in (None: no such entry)."""
        row = (
            await self._conn.execute(
                select(faq_entries).where(
                    faq_entries.c.tenant_id == tenant_id, faq_entries.c.entry_id == entry_id
                )
            )
        ).first()
        if row is None:
            return None
        await self._conn.execute(
            delete(faq_entries).where(
                faq_entries.c.tenant_id == tenant_id, faq_entries.c.entry_id == entry_id
            )
        )
        return self._entry(row)

    async def of_source(self, tenant_id: str, source_id: str) -> builtins.list[FaqEntry]:
        """A source's entries, live or not (an entry that no longer opens is left out)."""
        rows = await self._conn.execute(
            select(faq_entries).where(
                faq_entries.c.tenant_id == tenant_id, faq_entries.c.source_id == source_id
            )
        )
        return [entry for row in rows if (entry := self._intact_entry(row)) is not None]

    async def live_entry(self, tenant_id: str, entry_id: str) -> FaqEntry | None:
        """The entry, if the published version holds it and it is intact."""
        published = select(knowledge_state.c.published).where(
            knowledge_state.c.tenant_id == tenant_id
        )
        row = (
            await self._conn.execute(
                select(faq_entries)
                .join(knowledge_version_sources, _member_of_version(faq_entries))
                .where(
                    faq_entries.c.tenant_id == tenant_id,
                    faq_entries.c.entry_id == entry_id,
                    knowledge_version_sources.c.number == published.scalar_subquery(),
                )
            )
        ).first()
        return None if row is None else self._intact_entry(row)

    async def live(self, tenant_id: str) -> builtins.list[FaqEntry]:
        return (await self.live_with_vectors(tenant_id, dimension=None))[0]

    async def live_with_vectors(
        self, tenant_id: str, *, dimension: int | None
    ) -> tuple[builtins.list[FaqEntry], builtins.list[Vectors] | None]:
        """The published version's entries, and their vectors (a row per text each is matched
        by) when every entry has them (`dimension` given). An entry whose content no longer
        matches its hash, or no longer opens, is left out and reported (T-66)."""
        published = select(knowledge_state.c.published).where(
            knowledge_state.c.tenant_id == tenant_id
        )
        rows = (
            await self._conn.execute(
                select(faq_entries)
                .join(knowledge_version_sources, _member_of_version(faq_entries))
                .where(
                    faq_entries.c.tenant_id == tenant_id,
                    knowledge_version_sources.c.number == published.scalar_subquery(),
                )
                .order_by(faq_entries.c.created_at, faq_entries.c.entry_id)
            )
        ).all()
        entries: builtins.list[FaqEntry] = []
        vectors: builtins.list[Vectors] | None = [] if dimension is not None else None
        for row in rows:
            entry = self._intact_entry(row)
            if entry is None:
                continue
            sealed = row._mapping["vector_sealed"]
            if vectors is not None and sealed is None:
                vectors = None  # an entry without a vector: lexical retrieval only
            elif vectors is not None and dimension is not None:
                try:
                    raw = self._cipher.open(sealed, Place(TABLE, entry.entry_id, "vector"))
                except DecryptionFailed:
                    _report("knowledge.entry_unreadable", entry.tenant_id, entry.entry_id)
                    continue
                vectors.append(np.frombuffer(raw, dtype="<f4").reshape(-1, dimension))
            entries.append(entry)
        if vectors is None or dimension is None:
            return entries, None
        return entries, vectors

    def _intact_entry(self, row: Row[tuple[object, ...]]) -> FaqEntry | None:
        m = row._mapping
        try:
            entry = self._entry(row)
        except DecryptionFailed:
            _report("knowledge.entry_unreadable", m["tenant_id"], m["entry_id"])
            return None
        recorded = m["content_hash"]
        if recorded is not None and recorded != content_hash(entry):
            _report("knowledge.entry_tampered", m["tenant_id"], m["entry_id"])
            return None
        return entry

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
            phrasings=open_phrasings(
                self._cipher, m["phrasings_sealed"], Place(TABLE, entry_id, "phrasings")
            ),
            created_at=m["created_at"],
            source_id=m["source_id"],
            locator=m["locator"],
            is_faq=m["is_faq"],
        )


def seal_phrasings(cipher: TenantCipher, phrasings: Sequence[str], place: Place) -> bytes | None:
    """An entry's phrasings as stored: a sealed JSON list, or null for none."""
    if not phrasings:
        return None
    return cipher.seal_text(json.dumps(list(phrasings), ensure_ascii=False), place)


def open_phrasings(cipher: TenantCipher, sealed: bytes | None, place: Place) -> tuple[str, ...]:
    return () if sealed is None else tuple(json.loads(cipher.open_text(sealed, place)))


def _report(event: str, tenant_id: str, entry_id: str) -> None:
    security_event(event, tenant_id=tenant_id, entry_id=entry_id)


def content_hash(entry: FaqEntry) -> str:
    """What an entry's hash covers: its source, its place in it, and its text (its phrasings
    when it has any: an entry stored before phrasings existed hashes as it did)."""
    fields: builtins.list[object] = [
        entry.tenant_id,
        entry.entry_id,
        entry.source_id,
        entry.locator,
        entry.question,
        entry.answer,
    ]
    if entry.phrasings:
        fields.append(list(entry.phrasings))
    canonical = json.dumps(fields, ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class SourceRepository:
    """Uploaded sources, the versions that group them, and which version is live; every method
    takes `tenant_id`. Nothing here is sealed, so no data key is needed."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add_source(self, source: Source) -> None:
        await self._conn.execute(insert(knowledge_sources).values(**asdict(source)))

    async def state(self, tenant_id: str) -> tuple[str, str | None, int | None] | None:
        """The tenant's knowledge state: a token that changes with any change to what is live,
        the model its vectors come from, and the published version's number."""
        row = (
            await self._conn.execute(
                select(
                    knowledge_state.c.version,
                    knowledge_state.c.embedding_model,
                    knowledge_state.c.published,
                ).where(knowledge_state.c.tenant_id == tenant_id)
            )
        ).first()
        return (row[0], row[1], row[2]) if row else None

    async def set_state(
        self,
        tenant_id: str,
        *,
        published: int | None,
        embedding_model: str | None,
        at: datetime,
    ) -> None:
        """Record what is live now; every node's cached index notices the new token."""
        await self._conn.execute(
            upsert(
                self._conn,
                knowledge_state,
                {
                    "tenant_id": tenant_id,
                    "version": str(uuid.uuid4()),
                    "embedding_model": embedding_model,
                    "updated_at": at,
                    "published": published,
                },
                keys=["tenant_id"],
                update=["version", "embedding_model", "updated_at", "published"],
            )
        )

    async def latest_number(self, tenant_id: str) -> int:
        number = await self._conn.scalar(
            select(func.max(knowledge_versions.c.number)).where(
                knowledge_versions.c.tenant_id == tenant_id
            )
        )
        return int(number or 0)

    async def add_version(
        self,
        tenant_id: str,
        number: int,
        source_ids: Sequence[str],
        *,
        note: str,
        created_by: str,
        at: datetime,
    ) -> None:
        await self._conn.execute(
            insert(knowledge_versions).values(
                tenant_id=tenant_id,
                number=number,
                note=note[:300],
                created_by=created_by[:200],
                created_at=at,
            )
        )
        if source_ids:
            await self._conn.execute(
                insert(knowledge_version_sources),
                [{"tenant_id": tenant_id, "number": number, "source_id": s} for s in source_ids],
            )

    async def sources_of(self, tenant_id: str, number: int) -> builtins.list[Source]:
        rows = await self._conn.execute(
            select(knowledge_sources)
            .join(knowledge_version_sources, _member_of_version(knowledge_sources))
            .where(
                knowledge_sources.c.tenant_id == tenant_id,
                knowledge_version_sources.c.number == number,
            )
            .order_by(knowledge_sources.c.name)
        )
        return [_source(row) for row in rows]

    async def versions(self, tenant_id: str) -> builtins.list[tuple[int, str, str, datetime]]:
        """(number, note, created_by, created_at) of each version, newest first."""
        rows = await self._conn.execute(
            select(
                knowledge_versions.c.number,
                knowledge_versions.c.note,
                knowledge_versions.c.created_by,
                knowledge_versions.c.created_at,
            )
            .where(knowledge_versions.c.tenant_id == tenant_id)
            .order_by(knowledge_versions.c.number.desc())
        )
        return [(int(n), note, by, at) for n, note, by, at in rows]

    async def all_version_sources(self, tenant_id: str) -> dict[int, builtins.list[Source]]:
        rows = await self._conn.execute(
            select(knowledge_version_sources.c.number, knowledge_sources)
            .join(knowledge_sources, _member_of_version(knowledge_sources))
            .where(knowledge_version_sources.c.tenant_id == tenant_id)
            .order_by(knowledge_sources.c.name)
        )
        found: dict[int, builtins.list[Source]] = {}
        for row in rows:
            found.setdefault(int(row._mapping["number"]), []).append(_source(row))
        return found


def _member_of_version(table: Table) -> ColumnElement[bool]:
    """Joins `table`'s rows (entries or sources) to the versions their source belongs to."""
    return (knowledge_version_sources.c.tenant_id == table.c.tenant_id) & (
        knowledge_version_sources.c.source_id == table.c.source_id
    )


def _source(row: Row[tuple[object, ...]]) -> Source:
    m = row._mapping
    return Source(**{column.name: m[column.name] for column in knowledge_sources.columns})
