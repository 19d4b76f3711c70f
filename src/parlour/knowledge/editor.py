"""The knowledge editor (the dashboard's): the live version's entries browsed and searched, one
FAQ entry edited or removed, and what changed between two versions entry by entry.

Browsing reads the live index `KnowledgeService` caches per tenant, which holds the live
entries opened once per change of what is live: a page of 10,000 entries decrypts nothing. The
editor keeps beside it, for the same index, the entries in their sources' order and the text a
search looks in (question, phrasings and answer, case-folded); a search finds the entries that
hold every word of it.

An edit or a removal is an upload, like an entry typed in the dashboard (knowledge/entries.py):
the entry's source, an FAQ in CSV or JSON, is written again from its stored entries, in their
order and with their phrasings, that one row changed or left out, and uploaded in place of the
source it was built from (`Replacing`): screened, held back for review when suspicious, audited
as an upload and published at once. If the source changed meanwhile, or the entry is no longer
live, the save is refused (Conflict) rather than built on what the person did not see. What the
source has awaiting review stays in the queue, moved to the new copy. A source rebuilt this way
keeps its rows, not its file: other columns and rows that failed to import are not carried.
A document's passages are not edited: a document changes by uploading it again.

Entries are edited only while the live version is the latest: an upload builds on the latest
version, so an edit while an earlier one is live (a rollback) would publish the later changes
with it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from parlour.audit.events import Actor
from parlour.crypto.vault import TenantCipher, Vault
from parlour.errors import Conflict, InvalidInput, NotFound
from parlour.knowledge.entries import Upload, in_source_order
from parlour.knowledge.faq import FaqRow, clean_phrasings, faq_file, split_phrasings
from parlour.knowledge.formats import SourceKind
from parlour.knowledge.models import FaqEntry, ImportReport, Replacing, Source, VersionDiff
from parlour.knowledge.repository import FaqRepository, SourceRepository
from parlour.knowledge.retrieval import HybridIndex
from parlour.storage.database import Database

PAGE_SIZE = 25
MAX_QUERY_CHARS = 200
CACHED_TENANTS = 8  # the editor's own view of a live index (its order and search text)
EDITABLE_KINDS = frozenset({SourceKind.FAQ_CSV.value, SourceKind.FAQ_JSON.value})
_WORD = re.compile(r"\w+")

LiveIndex = Callable[[str], Awaitable[HybridIndex]]
SourceDiff = Callable[[str, int, int], Awaitable[VersionDiff]]


@dataclass(frozen=True, slots=True)
class Listed:
    entry: FaqEntry
    source: str  # its source's name ("" if the source is not in the live version any more)


@dataclass(frozen=True, slots=True)
class EntryPage:
    """One page of the live entries (those a search found, when there is one)."""

    version: int | None  # the live version
    rows: tuple[Listed, ...]
    found: int  # entries in all pages
    page: int  # from 1
    pages: int
    query: str


@dataclass(frozen=True, slots=True)
class LiveEntry:
    entry: FaqEntry
    source: Source | None
    version: int | None

    @property
    def editable(self) -> bool:
        """An FAQ's entry; a document's passage is changed by uploading the document."""
        return self.entry.is_faq and self.source is not None and self.source.kind in EDITABLE_KINDS


@dataclass(frozen=True, slots=True)
class Saved:
    """An edit or removal: the upload it made, and the entry's id in the new version (None
    when removed, or when screening held the edited entry back for review)."""

    report: ImportReport
    entry_id: str | None


@dataclass(frozen=True, slots=True)
class EntryChanges:
    """Two versions compared source by source, and entry by entry: an entry is known by its
    question (case aside), and changed when its answer or phrasings differ."""

    sources: VersionDiff
    added: tuple[FaqEntry, ...]
    removed: tuple[FaqEntry, ...]
    changed: tuple[tuple[FaqEntry, FaqEntry], ...]


@dataclass(frozen=True, slots=True)
class _View:
    """The editor's view of one live index: its entries in source order, their search text,
    and where each is."""

    index: HybridIndex
    version: int | None
    rows: tuple[Listed, ...]
    texts: tuple[str, ...]
    sources: dict[str, Source]
    by_id: dict[str, FaqEntry]


class KnowledgeEditor:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        live_index: LiveIndex,
        upload: Upload,
        diff: SourceDiff,
        *,
        max_field_chars: int,
    ) -> None:
        self._db = db
        self._vault = vault
        self._live_index = live_index
        self._upload = upload
        self._diff = diff
        self._max_field_chars = max_field_chars
        self._views: OrderedDict[str, _View] = OrderedDict()

    async def page(self, tenant_id: str, query: str = "", *, page: int = 1) -> EntryPage:
        """A page of the live entries in their sources' order, or of those holding every word
        of `query` in their question, phrasings or answer."""
        query = query.strip()[:MAX_QUERY_CHARS]
        view = await self._view(tenant_id)
        words = _WORD.findall(_folded(query))
        rows = view.rows
        if words:
            rows = tuple(
                row
                for row, text in zip(view.rows, view.texts, strict=True)
                if all(word in text for word in words)
            )
        pages = max(1, -(-len(rows) // PAGE_SIZE))
        page = min(max(page, 1), pages)
        start = (page - 1) * PAGE_SIZE
        return EntryPage(
            view.version, rows[start : start + PAGE_SIZE], len(rows), page, pages, query
        )

    async def entry(self, tenant_id: str, entry_id: str) -> LiveEntry:
        """A live entry, with its source (NotFound when it is not live)."""
        view = await self._view(tenant_id)
        entry = view.by_id.get(entry_id)
        if entry is None:
            raise NotFound("No such entry in the live version.")
        source = view.sources.get(entry.source_id or "")
        return LiveEntry(entry, source, view.version)

    async def edit(
        self,
        tenant_id: str,
        entry_id: str,
        *,
        question: str,
        phrasings: str,
        answer: str,
        actor: Actor,
    ) -> Saved:
        """The entry's source uploaded again with this entry's question, other phrasings (one
        per line, or separated by `|`) and answer; published at once."""
        question, answer = _clean(question), _clean(answer)
        if not question or not answer:
            raise InvalidInput("An entry needs a question and an answer.")
        limit = self._max_field_chars
        if len(question) > limit or len(answer) > limit:
            raise InvalidInput(f"A question or answer may be at most {limit} characters.")
        problem, kept = clean_phrasings(split_phrasings(phrasings), question, max_chars=limit)
        if problem:
            raise InvalidInput(f"The phrasings: {problem}.")
        row = FaqRow(question, answer, phrasings=kept)
        report = await self._rewrite(tenant_id, entry_id, row, actor)
        view = await self._view(tenant_id)  # the new version's, built once for the next page
        found = next(
            (
                r.entry.entry_id
                for r in view.rows
                if r.entry.source_id == report.source.source_id
                and (r.entry.question, r.entry.answer) == (question, answer)
            ),
            None,
        )
        return Saved(report, found)

    async def remove(self, tenant_id: str, entry_id: str, *, actor: Actor) -> Saved:
        """The entry's source uploaded again without it; published at once."""
        return Saved(await self._rewrite(tenant_id, entry_id, None, actor), None)

    async def _rewrite(
        self, tenant_id: str, entry_id: str, row: FaqRow | None, actor: Actor
    ) -> ImportReport:
        live = await self.entry(tenant_id, entry_id)
        if not live.editable or live.source is None:
            raise InvalidInput(
                "Only an FAQ's entries are edited here: a document's passages change when the "
                "document is uploaded again."
            )
        source = live.source
        stored = await self._entries_to_rewrite(tenant_id, source, entry_id)
        rows: list[FaqRow] = []
        for entry in in_source_order(stored):
            if entry.entry_id != entry_id:
                rows.append(FaqRow(entry.question, entry.answer, phrasings=entry.phrasings))
            elif row is not None:
                rows.append(row)
        if not rows:
            raise InvalidInput(
                f"It is the last entry of {source.name}: remove the source itself instead."
            )
        data = faq_file(SourceKind(source.kind), rows)
        return await self._upload(
            tenant_id, source.name, data, actor=actor, replacing=Replacing(source.source_id)
        )

    async def _entries_to_rewrite(
        self, tenant_id: str, source: Source, entry_id: str
    ) -> list[FaqEntry]:
        """The source's stored entries, if it is still the live and latest copy of its name
        and still holds the entry; otherwise the edit would build on what was not shown."""

        async def read(cipher: TenantCipher) -> list[FaqEntry]:
            async with self._db.read(tenant_id) as conn:
                sources = SourceRepository(conn)
                state = await sources.state(tenant_id)
                published = state[2] if state else None
                latest = await sources.latest_number(tenant_id)
                if published != latest:
                    raise Conflict(
                        "An earlier version is live (a rollback): publish the latest version "
                        "before editing entries, or the edit would publish its changes too."
                    )
                current = await sources.sources_of(tenant_id, latest)
                if source.source_id not in {s.source_id for s in current}:
                    raise Conflict(f"{source.name} changed meanwhile; open the entry again.")
                return await FaqRepository(conn, cipher).of_source(tenant_id, source.source_id)

        stored = await self._vault.using(tenant_id, read)
        if not any(entry.entry_id == entry_id for entry in stored):
            raise Conflict("The entry changed meanwhile; open it again.")
        return stored

    async def changes(self, tenant_id: str, since: int, to: int) -> EntryChanges:
        """What changed from version `since` to `to`: sources, and entries by question. Only
        the entries of sources that differ are read."""
        sources = await self._diff(tenant_id, since, to)
        before_ids = [s.source_id for s in sources.removed] + [
            b.source_id for b, _ in sources.changed
        ]
        after_ids = [s.source_id for s in sources.added] + [a.source_id for _, a in sources.changed]

        async def read(cipher: TenantCipher) -> tuple[list[FaqEntry], list[FaqEntry]]:
            async with self._db.read(tenant_id) as conn:
                entries = FaqRepository(conn, cipher)
                before = [e for s in before_ids for e in await entries.of_source(tenant_id, s)]
                after = [e for s in after_ids for e in await entries.of_source(tenant_id, s)]
            return before, after

        before, after = await self._vault.using(tenant_id, read)
        return entry_changes(sources, before, after)

    async def _view(self, tenant_id: str) -> _View:
        index = await self._live_index(tenant_id)
        cached = self._views.get(tenant_id)
        if cached is not None and cached.index is index:
            self._views.move_to_end(tenant_id)
            return cached
        async with self._db.read(tenant_id) as conn:
            repository = SourceRepository(conn)
            state = await repository.state(tenant_id)
            version = state[2] if state else None
            listed = await repository.sources_of(tenant_id, version) if version else []
        sources = {s.source_id: s for s in listed}

        def place(entry: FaqEntry) -> tuple[str, int, str]:
            source = sources.get(entry.source_id or "")
            return (source.name if source else "", _place(entry.locator), entry.entry_id)

        ordered = sorted(index.entries, key=place)
        view = _View(
            index,
            version,
            tuple(Listed(e, place(e)[0]) for e in ordered),
            tuple(_folded("\n".join((e.question, *e.phrasings, e.answer))) for e in ordered),
            sources,
            {e.entry_id: e for e in ordered},
        )
        self._views[tenant_id] = view
        while len(self._views) > CACHED_TENANTS:
            self._views.popitem(last=False)
        return view


def entry_changes(
    sources: VersionDiff, before: Sequence[FaqEntry], after: Sequence[FaqEntry]
) -> EntryChanges:
    """`before` (the entries of the sources the later version dropped or changed) against
    `after` (those of the sources it added or changed), by question."""
    was = _by_question(before)
    now = _by_question(after)
    return EntryChanges(
        sources,
        added=tuple(now[q] for q in now if q not in was),
        removed=tuple(was[q] for q in was if q not in now),
        changed=tuple(
            (was[q], now[q])
            for q in now
            if q in was and (was[q].answer, was[q].phrasings) != (now[q].answer, now[q].phrasings)
        ),
    )


def _by_question(entries: Sequence[FaqEntry]) -> dict[str, FaqEntry]:
    found: dict[str, FaqEntry] = {}
    for entry in in_source_order(entries):
        found.setdefault(_folded(entry.question), entry)
    return found


def _folded(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _clean(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def _place(locator: str) -> int:
    match = re.fullmatch(r"(?:line|item|page) (\d+)", locator)
    return int(match[1]) if match else 0
