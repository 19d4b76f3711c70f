"""A tenant's knowledge: uploading sources, screening them, versions, and searching what is live.

Past 400 lines as one concept, the knowledge facade (uploads, versions and the live index);
its parts already live apart (review, gaps, entries, editor, imports, learned, calibration).

Every upload is a source (a file as received: name, kind, hash, uploader) and makes a new
version: the previous version's sources, less any of the same name, plus this one. Publishing a
version makes it live; publishing an older one is a rollback. Passages screening holds back wait
in a quarantine for an administrator (and are counted in the organisation's security figures,
one per passage held back); the rest are stored sealed, with their embeddings, and
each keeps its provenance and content hash. The review queue's own rules (what is held back and
why, listing, deciding, flagging again) are knowledge/review.py, reached as
`KnowledgeService.review`; the questions it could not answer are knowledge/gaps.py, reached as
`KnowledgeService.gaps`. An entry typed in the dashboard is an upload too (knowledge/entries.py,
`KnowledgeService.entries`); so is an entry edited or removed there (knowledge/editor.py,
`KnowledgeService.editor`).
`KnowledgeService.entries`). What customers taught the FAQ entries by picking them among the
assistant's choices is knowledge/learned.py (`KnowledgeService.learned`): the index gives each
entry its learned phrasings' words and vectors too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from time import perf_counter

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour import metrics
from parlour.audit.events import (
    Actor,
    KnowledgePublished,
    KnowledgeSourceRemoved,
    KnowledgeUploaded,
)
from parlour.audit.service import AuditLog
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import Conflict, InvalidInput, NotFound, PayloadTooLarge
from parlour.identifiers import check_identifier
from parlour.knowledge.calibration import calibrate
from parlour.knowledge.documents import Limits, Passage, read_source
from parlour.knowledge.editor import KnowledgeEditor
from parlour.knowledge.embeddings import Embedder, Vectors, embed_entries, embed_off_loop
from parlour.knowledge.entries import DashboardEntries
from parlour.knowledge.explain import Explained, explain
from parlour.knowledge.formats import SourceKind, identify
from parlour.knowledge.gaps import KnowledgeGaps
from parlour.knowledge.learned import LearnedPhrasings, LearningLimits, with_learned
from parlour.knowledge.learned_repository import LearnedRepository
from parlour.knowledge.models import (
    Calibration,
    FaqEntry,
    Hit,
    ImportReport,
    KnowledgeVersion,
    QuarantinedItem,
    Replacing,
    Retrieved,
    Source,
    VersionDiff,
)
from parlour.knowledge.remote_embeddings import RemoteEmbedder
from parlour.knowledge.repository import FaqRepository, SourceRepository
from parlour.knowledge.retrieval import (
    DENSE_WEIGHT,
    UNMEASURED_WEIGHT,
    HybridIndex,
    split_answers,
)
from parlour.knowledge.review import ReviewQueue, held_back, reasons_to_hold
from parlour.knowledge.review_repository import QuarantineRepository
from parlour.knowledge.source_urls import checked_source_url
from parlour.rate_limits import RateLimits
from parlour.rollups.models import Figure
from parlour.rollups.tally import Tally
from parlour.storage.database import Database
from parlour.storage.dialect import serialise
from parlour.storage.types import Clock, utcnow

MAX_NAME_CHARS = 200
# Passages screened and embedded at a time: an upload's progress moves on in these steps.
STEP = 256

Progress = Callable[[int, int], Awaitable[None]]  # (passages done, passages in all)
Finish = Callable[[AsyncConnection, ImportReport], Awaitable[None]]


class KnowledgeService:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        audit: AuditLog,
        *,
        max_upload_bytes: int,
        max_entries: int,
        max_field_chars: int,
        embedder: Embedder | None,
        tally: Tally,
        cached_indexes: int = 64,
        rate_limits: RateLimits | None = None,
        learning: LearningLimits | None = None,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._tally = tally  # counts passages held back: an organisation's security figure
        self._clock = clock
        self._vault = vault
        self._audit = audit
        self.max_upload_bytes = max_upload_bytes
        self._limits = Limits(max_passages=max_entries, max_field_chars=max_field_chars)
        self._embedder = embedder
        # tenant -> (knowledge state token, index, its calibration), least recently used first.
        # Each index holds one tenant's entries; a node rebuilds it when the token in the
        # database moves on.
        self._indexes: OrderedDict[str, tuple[str, HybridIndex, Calibration | None]] = OrderedDict()
        self._cached_indexes = cached_indexes
        # The review queue shares this service's storage, keys, audit log and embedder.
        self.review = ReviewQueue(db, vault, audit, embedder=embedder, clock=clock)
        # So do the questions the assistant could not answer.
        self.gaps = KnowledgeGaps(db, vault, embedder=embedder, clock=clock)
        # Entries typed in the dashboard: uploads of a source of their own.
        self.entries = DashboardEntries(
            db, vault, self.upload, max_field_chars=self._limits.max_field_chars
        )
        # Browsing, editing and removing the live entries one at a time, and what changed
        # between two versions entry by entry (the dashboard's knowledge editor).
        self.editor = KnowledgeEditor(
            db,
            vault,
            self.live_index,
            self.upload,
            self.diff,
            max_field_chars=self._limits.max_field_chars,
        )
        # Phrasings customers taught the entries by their picks among the assistant's choices.
        learning = learning or LearningLimits()
        self.learned = LearnedPhrasings(
            db,
            vault,
            audit,
            self.upload,
            rate_limits or RateLimits(learning.rules),
            embedder=embedder,
            limits=learning,
            clock=clock,
        )

    def close(self) -> None:
        if isinstance(self._embedder, RemoteEmbedder):
            self._embedder.close()

    async def import_faq_csv(
        self,
        tenant_id: str,
        data: bytes,
        *,
        actor: Actor,
        progress: Progress | None = None,
        source_url: str | None = None,
    ) -> ImportReport:
        """Replace the tenant's FAQ (the source named faq.csv) and publish it."""
        return await self.upload(
            tenant_id, "faq.csv", data, actor=actor, progress=progress, source_url=source_url
        )

    async def upload(
        self,
        tenant_id: str,
        name: str,
        data: bytes,
        *,
        actor: Actor,
        publish: bool = True,
        replacing: Replacing | None = None,
        progress: Progress | None = None,
        finish: Finish | None = None,
        source_url: str | None = None,
    ) -> ImportReport:
        """Store a source as a new version, replacing any source of the same name; its bad
        parts are reported, its suspicious passages held back for review. `progress` is told
        how many passages are screened and embedded, a step at a time; `finish` is given the
        report in the version's own transaction (a background import's outcome is stored with
        the version it made, or not at all). Nothing is stored unless all of it is.
        `source_url`: its page on the organisation's site, https only
        (knowledge/source_urls.py), which the citations of answers drawn from it link to."""
        source_url = checked_source_url(source_url)
        kind = self.check_upload(name, data)
        name = name.strip()
        passages, errors = await asyncio.to_thread(read_source, kind, data, self._limits)
        if not passages:
            raise InvalidInput(
                "the file has nothing usable in it",
                details={"errors": [{"line": e.line, "message": e.message} for e in errors]},
            )
        now = self._clock()
        source = Source(
            tenant_id,
            str(uuid.uuid4()),
            name,
            kind.value,
            hashlib.sha256(data).hexdigest(),
            len(data),
            _who(actor),
            now,
            source_url=source_url,
        )
        entries, held, vectors = await self._prepared(tenant_id, source, passages, progress)
        cipher = await self._vault.cipher(tenant_id)
        reports: list[ImportReport] = []

        async def store(conn: AsyncConnection, number: int) -> None:
            sources = SourceRepository(conn)
            current = await sources.sources_of(tenant_id, number - 1)
            if replacing is not None:
                replaced = next((s.source_id for s in current if s.name == name), None)
                if replaced != replacing.source_id:
                    raise Conflict(f"{name} changed meanwhile")
            await sources.add_source(source)
            await sources.add_version(
                tenant_id,
                number,
                [*(s.source_id for s in current if s.name != name), source.source_id],
                note=f"uploaded {name}",
                created_by=source.uploaded_by,
                at=now,
            )
            await FaqRepository(conn, cipher).add(tenant_id, entries, vectors)
            quarantine = QuarantineRepository(conn, cipher)
            same_name = [s.source_id for s in current if s.name == name]
            if replacing is None:
                await quarantine.drop_for_sources(tenant_id, same_name)
            else:
                await quarantine.move_to_source(tenant_id, same_name, source.source_id)
            await quarantine.add(tenant_id, held)
            event = KnowledgeUploaded(
                name,
                kind.value,
                source.sha256,
                number,
                len(entries),
                len(errors),
                len(held),
                source_url=source_url,
            )
            await self._audit.record(conn, tenant_id, event, actor)
            if publish:
                await self._publish(conn, tenant_id, number, actor)
            report = ImportReport(
                imported=len(entries),
                errors=errors,
                quarantined=held,
                source=source,
                version=number,
                published=publish,
            )
            if finish is not None:
                await finish(conn, report)
            reports.append(report)

        await self._in_new_version(tenant_id, store)
        self._tally.add(tenant_id, Figure.QUARANTINED_UPLOADS, n=len(held))
        return reports[-1]

    def check_upload(self, name: str, data: bytes) -> SourceKind:
        """What can be said of an upload before reading it: a usable name, a size within the
        limit, a type judged by its content (InvalidInput, PayloadTooLarge, or its kind)."""
        name = name.strip()
        if not name or len(name) > MAX_NAME_CHARS or "/" in name or "\\" in name:
            raise InvalidInput(f"a source needs a file name of at most {MAX_NAME_CHARS} characters")
        # Printed by `parlour knowledge versions` and shown on pages: nothing that drives a
        # terminal, forges a line or reads backwards (T-90).
        check_identifier(name, "a source name")
        if len(data) > self.max_upload_bytes:
            raise PayloadTooLarge(f"an upload may be at most {self.max_upload_bytes} bytes")
        return identify(name, data)

    async def _prepared(
        self,
        tenant_id: str,
        source: Source,
        passages: list[Passage],
        progress: Progress | None,
    ) -> tuple[list[FaqEntry], list[QuarantinedItem], list[Vectors] | None]:
        """The passages screened (a poisoned entry would speak with the organisation's voice:
        it waits for review) and the rest embedded, `STEP` at a time off the event loop."""
        entries: list[FaqEntry] = []
        held: list[QuarantinedItem] = []
        vectors: list[Vectors] = []
        total = len(passages)
        if progress is not None:
            await progress(0, total)
        for start in range(0, total, STEP):
            step_entries, step_held = await asyncio.to_thread(
                _screened, tenant_id, source, passages[start : start + STEP], start
            )
            if step_entries and self._embedder is not None:
                step_vectors = await self._embed(step_entries)
                assert step_vectors is not None
                vectors.extend(step_vectors)
            entries.extend(step_entries)
            held.extend(step_held)
            if progress is not None:
                await progress(min(start + STEP, total), total)
        return entries, held, None if self._embedder is None else vectors

    async def remove_source(
        self, tenant_id: str, name: str, *, actor: Actor, publish: bool = True
    ) -> int:
        """A new version without the named source (its passages leave retrieval when it is
        published, T-33); returns the version's number."""

        async def store(conn: AsyncConnection, number: int) -> None:
            sources = SourceRepository(conn)
            current = await sources.sources_of(tenant_id, number - 1)
            if not any(s.name == name for s in current):
                raise NotFound("no such source in the latest version")
            await sources.add_version(
                tenant_id,
                number,
                [s.source_id for s in current if s.name != name],
                note=f"removed {name}",
                created_by=_who(actor),
                at=self._clock(),
            )
            await self._audit.record(conn, tenant_id, KnowledgeSourceRemoved(name, number), actor)
            if publish:
                await self._publish(conn, tenant_id, number, actor)

        return await self._in_new_version(tenant_id, store)

    async def _in_new_version(
        self, tenant_id: str, store: Callable[[AsyncConnection, int], Awaitable[None]]
    ) -> int:
        """Run `store` in a transaction with the next version's number, and return it; one
        tenant's version writers take turns, so each builds on the one before."""
        async with self._db.transaction(tenant_id) as conn:
            await serialise(conn, f"knowledge-versions:{tenant_id}")
            number = await SourceRepository(conn).latest_number(tenant_id) + 1
            await store(conn, number)
        return number

    async def publish(self, tenant_id: str, number: int, *, actor: Actor) -> None:
        """Make a version live; an earlier one, to roll back."""
        async with self._db.transaction(tenant_id) as conn:
            if not 0 < number <= await SourceRepository(conn).latest_number(tenant_id):
                raise NotFound("no such knowledge version")
            await self._publish(conn, tenant_id, number, actor)

    async def _publish(
        self, conn: AsyncConnection, tenant_id: str, number: int, actor: Actor
    ) -> None:
        sources = SourceRepository(conn)
        state = await sources.state(tenant_id)
        await sources.set_state(
            tenant_id, published=number, embedding_model=self._model_id, at=self._clock()
        )
        previous = state[2] if state else None
        await self._audit.record(conn, tenant_id, KnowledgePublished(number, previous), actor)

    async def versions(self, tenant_id: str) -> list[KnowledgeVersion]:
        """Every version, newest first, with its sources."""
        async with self._db.read(tenant_id) as conn:
            sources = SourceRepository(conn)
            listed = await sources.versions(tenant_id)
            members = await sources.all_version_sources(tenant_id)
            state = await sources.state(tenant_id)
        published = state[2] if state else None
        return [
            KnowledgeVersion(
                number, note, by, at, tuple(members.get(number, [])), number == published
            )
            for number, note, by, at in listed
        ]

    async def diff(self, tenant_id: str, since: int, to: int) -> VersionDiff:
        """What changed between two versions, source by source."""
        async with self._db.read(tenant_id) as conn:
            sources = SourceRepository(conn)
            latest = await sources.latest_number(tenant_id)
            if not (0 < since <= latest and 0 < to <= latest):
                raise NotFound("no such knowledge version")
            before = {s.name: s for s in await sources.sources_of(tenant_id, since)}
            after = {s.name: s for s in await sources.sources_of(tenant_id, to)}
        return VersionDiff(
            since,
            to,
            added=tuple(after[n] for n in sorted(after.keys() - before.keys())),
            removed=tuple(before[n] for n in sorted(before.keys() - after.keys())),
            changed=tuple(
                (before[n], after[n])
                for n in sorted(before.keys() & after.keys())
                if before[n].sha256 != after[n].sha256
            ),
        )

    async def _embed(self, entries: list[FaqEntry]) -> list[Vectors] | None:
        return await embed_entries(self._embedder, entries)

    @property
    def _model_id(self) -> str | None:
        return self._embedder.model_id if self._embedder else None

    async def faq_entries(self, tenant_id: str) -> list[FaqEntry]:
        """What is live: the published version's entries."""

        async def read(cipher: TenantCipher) -> list[FaqEntry]:
            async with self._db.read(tenant_id) as conn:
                return await FaqRepository(conn, cipher).live(tenant_id)

        return await self._vault.using(tenant_id, read)

    async def live_entry(self, tenant_id: str, entry_id: str) -> FaqEntry | None:
        """The entry, if it is in the live version (None: no such entry, or not live)."""

        async def read(cipher: TenantCipher) -> FaqEntry | None:
            async with self._db.read(tenant_id) as conn:
                return await FaqRepository(conn, cipher).live_entry(tenant_id, entry_id)

        return await self._vault.using(tenant_id, read)

    async def published_version(self, tenant_id: str) -> int | None:
        """The number of the live knowledge version (None before the first publication)."""
        async with self._db.read(tenant_id) as conn:
            state = await SourceRepository(conn).state(tenant_id)
        return state[2] if state else None

    async def search(self, tenant_id: str, query: str, *, limit: int = 3) -> list[Hit]:
        """The tenant's best entries for `query`, lexical and dense results fused by rank."""
        return (await self.retrieve(tenant_id, query, limit=limit)).hits

    async def retrieve(self, tenant_id: str, query: str, *, limit: int = 3) -> Retrieved:
        """`search`, with the query's embedding when it made one (the assistant keeps it with
        a question it could not answer, rather than embed it twice), and the live version's
        calibrated thresholds when it has them (knowledge/calibration.py)."""
        started = perf_counter()
        index, calibration = await self._index(tenant_id)
        query_vector = await self._query_vector(index, query)
        hits = index.search(query, query_vector, limit)
        metrics.RETRIEVAL_SECONDS.observe(perf_counter() - started)
        return Retrieved(hits, query_vector, calibration if query_vector is not None else None)

    async def retrieve_explained(self, tenant_id: str, query: str, *, limit: int = 3) -> Explained:
        """`retrieve`'s hits, each with its place in the lexical and the dense list (the
        dashboard's "try a question" console; not counted as a customer's retrieval)."""
        index, calibration = await self._index(tenant_id)
        query_vector = await self._query_vector(index, query)
        explained = explain(index, query, query_vector, limit)
        if query_vector is None:
            return explained
        return dataclasses.replace(explained, calibration=calibration)

    async def live_index(self, tenant_id: str) -> HybridIndex:
        """The live version's index (cached per tenant until what is live changes): its
        `entries` are what the knowledge editor browses, without decrypting them again."""
        return (await self._index(tenant_id))[0]

    async def _query_vector(self, index: HybridIndex, query: str) -> Vectors | None:
        if index.dense is None:
            return None
        vectors = await embed_off_loop(self._embedder, [query])
        return None if vectors is None else vectors[0]

    async def _index(self, tenant_id: str) -> tuple[HybridIndex, Calibration | None]:
        embedder = self._embedder

        async def read(cipher: TenantCipher) -> tuple[str, HybridIndex, Calibration | None]:
            async with self._db.read(tenant_id) as conn:
                repository = FaqRepository(conn, cipher)
                state = await SourceRepository(conn).state(tenant_id)
                version = state[0] if state else ""
                cached = self._indexes.get(tenant_id)
                if cached is not None and cached[0] == version:
                    return cached
                # Vectors from another model (or none) are not comparable with this one's queries.
                dimension = None
                if embedder is not None and state is not None and state[1] == embedder.model_id:
                    dimension = embedder.dimension
                entries, vectors = await repository.live_with_vectors(
                    tenant_id, dimension=dimension
                )
                learned = await LearnedRepository(conn, cipher).for_index(
                    tenant_id, model=self._model_id, dimension=dimension
                )
            # An FAQ's answer vector, when stored, goes apart; learned phrasings join the
            # texts its entry is matched by.
            matched, answers = (None, None) if vectors is None else split_answers(entries, vectors)
            if learned:
                entries, matched = with_learned(cipher, entries, matched, learned)
            measured = embedder is not None and embedder.measured
            index = HybridIndex(
                entries,
                matched,
                answers=answers,
                dense_weight=DENSE_WEIGHT if measured else UNMEASURED_WEIGHT,
            )
            # Each version's own thresholds, computed with its index (off the loop: a large
            # FAQ takes a fraction of a second).
            dense = index.dense
            calibration = None if dense is None else await asyncio.to_thread(calibrate, dense)
            return version, index, calibration

        version, index, calibration = await self._vault.using(tenant_id, read)
        self._indexes[tenant_id] = (version, index, calibration)
        self._indexes.move_to_end(tenant_id)
        while len(self._indexes) > self._cached_indexes:
            self._indexes.popitem(last=False)
        return index, calibration


def _screened(
    tenant_id: str, source: Source, passages: list[Passage], start: int
) -> tuple[list[FaqEntry], list[QuarantinedItem]]:
    """A step's passages: those to store, and those held back for review, with why."""
    entries: list[FaqEntry] = []
    held: list[QuarantinedItem] = []
    for number, passage in enumerate(passages, start=start + 1):
        reasons = reasons_to_hold(passage)
        if reasons:
            held.append(
                held_back(tenant_id, source.source_id, passage, reasons, number, source.created_at)
            )
        else:
            entries.append(_entry(tenant_id, source.source_id, passage, source.created_at))
    return entries, held


def _who(actor: Actor) -> str:
    return f"{actor.type.value}:{actor.id}"[:200]


def _entry(tenant_id: str, source_id: str, passage: Passage, now: datetime) -> FaqEntry:
    return FaqEntry(
        tenant_id,
        str(uuid.uuid4()),
        passage.title,
        passage.text,
        now,
        source_id=source_id,
        locator=passage.where,
        is_faq=passage.is_faq,
        phrasings=passage.phrasings,
    )
