"""The process's running counts for reports, added to the database every few seconds.

Counting is a dictionary increment, so the chat's hot path pays next to nothing for it; the
database sees one statement per flush, whatever the traffic. Several processes and nodes add to
the same rows (`value = value + excluded.value`), so their counts sum. What a process has not
flushed when it dies is lost: at most `flush_seconds` of counts, which reports tolerate and
the figures that must not be lost (messages, turns, conversations) keep in their own tables.
A failed flush keeps its counts for the next one.

A flush also notes which organisations it stored counts of watched figures for (`watch`,
`noticed`): the security alerts check those organisations alone, so that a quiet node checks
none, at no cost to counting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from parlour.rollups.models import DETAIL_CHARS, Count, Figure
from parlour.rollups.repository import CountRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

log = logging.getLogger(__name__)

Key = tuple[str, Figure, str, datetime]  # tenant, figure, detail, hour


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class Tally:
    def __init__(self, db: Database, *, flush_seconds: float, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock
        self._flush_seconds = flush_seconds
        self._pending: Counter[Key] = Counter()
        self._flushing = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._hour = self._next_hour = datetime.min.replace(tzinfo=UTC)
        self._watched: frozenset[Figure] = frozenset()
        self._noticed: set[str] = set()

    def watch(self, figures: Collection[Figure]) -> None:
        """From now on, note the organisations whose counts of these figures a flush stores."""
        self._watched = self._watched | frozenset(figures)

    def noticed(self) -> set[str]:
        """The organisations noted since the last call (and forgets them)."""
        noticed, self._noticed = self._noticed, set()
        return noticed

    def add(self, tenant_id: str, figure: Figure, detail: str = "", n: int = 1) -> None:
        """Count `n` of `figure` for the organisation, now."""
        if n:
            self._pending[(tenant_id, figure, detail[:DETAIL_CHARS], self._current_hour())] += n

    def _current_hour(self) -> datetime:
        # Called for every message: the hour is worked out again only when it has passed.
        now = self._clock()
        if not self._hour <= now < self._next_hour:
            self._hour = hour_of(now)
            self._next_hour = self._hour + timedelta(hours=1)
        return self._hour

    async def flush(self) -> None:
        """Add what this process counted to the database, in one transaction."""
        async with self._flushing:
            pending, self._pending = self._pending, Counter()
            if not pending:
                return
            counts = [Count(t, f, d, h, v) for (t, f, d, h), v in pending.items()]
            try:
                await self._store(counts)
            except IntegrityError:
                await self._store_each_tenant(counts)
            except BaseException:
                self._pending.update(pending)  # counted again at the next flush
                raise

    async def _store(self, counts: list[Count]) -> None:
        async with self._db.transaction(*{c.tenant_id for c in counts}) as conn:
            await CountRepository(conn).add(counts)
        self._noticed.update(c.tenant_id for c in counts if c.figure in self._watched)

    async def _store_each_tenant(self, counts: list[Count]) -> None:
        """An organisation deleted since it was counted fails the whole batch: store the others,
        and drop its counts, as its other rows went."""
        by_tenant: dict[str, list[Count]] = {}
        for count in counts:
            by_tenant.setdefault(count.tenant_id, []).append(count)
        for tenant_counts in by_tenant.values():
            with contextlib.suppress(IntegrityError):
                await self._store(tenant_counts)

    def start(self) -> None:
        """Flush every `flush_seconds` until `aclose`."""
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def aclose(self) -> None:
        """Stop flushing on a timer, and flush what is left."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_seconds)
            try:
                await self.flush()
            except Exception:
                log.exception("report counts not flushed; kept for the next try")
