"""The blind index's writer: off the chat's hot path, a few seconds behind it.

The message writer tells the indexer which organisations a batch stored messages for (a set
added to, `chat.writer.Stored`: nothing else on the hot path). Every `seconds` the indexer takes
those organisations and, for each, reads the messages above its watermark that the index does
not hold yet (`search_documents`), opens them with the organisation's data key, and writes each
distinct word's tag (parlour.search.terms) in batches, then moves the watermark up.

Message ids are time-ordered (UUIDv7), but not committed in their order: two nodes' clocks
differ, a batch commits after a later one began, and an assistant's streamed answer keeps the
id chosen when it began to stream (up to the model's timeout before). So each round reads from
`recent_seconds` below the watermark, and, every `sweep_seconds`, every organisation is read
from `late_seconds` below it; what the index already holds (`search_documents`) is skipped, never
indexed twice. When a node starts, its first round sweeps every organisation: messages another
node stored and could not index before it stopped are found then.

Search therefore lags: a message is searchable within about `seconds` (2 s) of being stored,
an answer that streamed for long within `sweep_seconds`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Collection
from typing import Any

from parlour.chat.models import MessageKind
from parlour.chat.repository import TABLE
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.search.repository import DirectIndexWrite, IndexRepository, Unindexed
from parlour.search.terms import tag, words
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tasks import Periodic

log = logging.getLogger(__name__)

# Message ids read at a time (a sweep reads many it finds indexed already); those not indexed
# yet are written a batch at a time, one write transaction each, so SQLite's one writer is held
# briefly.
PAGE = 1_000
BATCH = 50
# The share of the event loop the indexer takes at most while it has work (it rests in
# proportion to each batch's time), and its longest rest.
MAX_REST = 1.0
MAX_PAGES = 20  # per organisation per round; the rest is the next round's


def earlier_id(message_id: str, seconds: float) -> str:
    """The smallest UUIDv7 of `seconds` before `message_id`'s moment ("" if it is no UUIDv7:
    then everything is read again, which skipping what is held makes only slow, never wrong)."""
    try:
        millis = int(message_id[:8] + message_id[9:13], 16)
    except ValueError:
        return ""
    h = f"{max(0, millis - int(seconds * 1000)):012x}"
    return f"{h[:8]}-{h[8:12]}-0000-0000-000000000000"


class SearchIndexer:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        *,
        seconds: float = 2.0,
        recent_seconds: float = 30.0,
        sweep_seconds: float = 300.0,
        late_seconds: float = 900.0,
        share: float = 0.1,
        clock: Clock = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._vault = vault
        self._recent = recent_seconds
        self._sweep_every = sweep_seconds
        self._late = late_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._share = share
        self._direct = DirectIndexWrite(db.engine.dialect) if db.direct is not None else None
        self._dirty: set[str] = set()
        # Where an organisation's reading stopped when a round's share ran out: the next round
        # goes on from there rather than from its watermark, so a long sweep ends too.
        self._resume: dict[str, str] = {}
        self._next_sweep: float | None = None  # None: the first round sweeps
        self._periodic = Periodic(
            self.index_round, seconds, failed="indexing messages for search failed"
        )

    def stored(self, tenant_ids: Collection[str]) -> None:
        """The writer stored messages for these organisations (chat.writer.Stored)."""
        self._dirty.update(tenant_ids)

    def start(self) -> None:
        self._periodic.start()

    async def aclose(self) -> None:
        await self._periodic.aclose()

    async def index_round(self) -> int:
        """One round; how many messages it indexed."""
        now = self._monotonic()
        if self._next_sweep is None or now >= self._next_sweep:
            self._next_sweep = now + self._sweep_every
            async with self._db.read() as conn:
                everyone = await IndexRepository(conn).tenant_ids()
            late = dict.fromkeys(everyone, self._late)
        else:
            late = {}
        dirty, self._dirty = self._dirty, set()
        margins = dict.fromkeys(dirty, self._recent) | late
        indexed = 0
        for tenant_id, margin in margins.items():
            try:
                done, resume = await self.index_tenant(
                    tenant_id, margin, after=self._resume.pop(tenant_id, None)
                )
            except Exception:
                # One organisation's trouble (its keys destroyed with it) stops no other's.
                log.exception("indexing an organisation's messages for search failed")
                continue
            indexed += done
            if resume is not None:
                self._resume[tenant_id] = resume
                self._dirty.add(tenant_id)
        return indexed

    async def _write(
        self, tenant_id: str, batch: list[Unindexed], terms: list[tuple[bytes, str, str]]
    ) -> None:
        documents = [u.message_id for u in batch]
        args = (documents, terms, batch[-1].message_id, self._clock())
        await _written(self._db, self._direct, tenant_id, args)

    async def index_tenant(
        self, tenant_id: str, margin: float, *, after: str | None = None
    ) -> tuple[int, str | None]:
        """Index what the tenant's watermark, less `margin` seconds, leaves (or what comes
        after the message id `after`); how many, and where the next round goes on from (None:
        nothing is left)."""
        if after is None:
            async with self._db.read(tenant_id) as conn:
                watermark = await IndexRepository(conn).watermark(tenant_id)
            after = earlier_id(watermark, margin) if watermark else ""
        cipher: TenantCipher | None = None
        indexed = 0
        for _ in range(MAX_PAGES):
            async with self._db.read(tenant_id) as conn:
                repo = IndexRepository(conn)
                page = await repo.ids_after(tenant_id, after, PAGE)
                missing = await repo.unindexed(tenant_id, page) if page else []
            for start in range(0, len(missing), BATCH):
                batch = missing[start : start + BATCH]
                started = self._monotonic()
                cipher = cipher or await self._vault.cipher(tenant_id)
                await self._write(tenant_id, batch, _terms(cipher, batch))
                indexed += len(batch)
                # The node's sockets come first: the indexer takes at most its share of the
                # event loop (and of SQLite's one writer), resting between batches.
                spent = self._monotonic() - started
                await asyncio.sleep(min(MAX_REST, spent * (1 - self._share) / self._share))
            if len(page) < PAGE:
                return indexed, None
            after = page[-1]
        return indexed, after


async def _written(
    db: Database, direct: DirectIndexWrite | None, tenant_id: str, args: tuple[Any, ...]
) -> None:
    if direct is not None:
        await db.write_directly(functools.partial(direct.write, tenant_id, *args))
        return
    async with db.transaction(tenant_id) as conn:
        await IndexRepository(conn).add(tenant_id, *args)


def _terms(cipher: TenantCipher, batch: list[Unindexed]) -> list[tuple[bytes, str, str]]:
    """(tag, message id, conversation id) for each distinct word of each message."""
    key = cipher.index_key
    terms: list[tuple[bytes, str, str]] = []
    for message in batch:
        if message.kind is MessageKind.HANDOFF:
            continue  # a marker ("queued", "resolved"), not anyone's words
        body = cipher.open_text(message.body_sealed, Place(TABLE, message.message_id, "body"))
        terms.extend(
            (tag(key, word), message.message_id, message.conversation_id) for word in words(body)
        )
    return terms
