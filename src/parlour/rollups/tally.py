"""The process's running counts for reports, added to the database every few seconds.

Counting is a dictionary increment, so the chat's hot path pays next to nothing for it; the
database sees one statement per flush, whatever the traffic. Several processes and nodes add to
the same rows (`value = value + excluded.value`), so their counts sum. What a process has not
flushed when it dies is lost: at most `flush_seconds` of counts, which reports tolerate and
the figures that must not be lost (messages, turns, conversations) keep in their own tables.
A failed flush keeps the counts it did not store for the next one.

Reports read what was flushed; `refresh` is the one rule of "fresh enough" they share: it
flushes only when the last flush is older than `FRESH_SECONDS`, so a page of five sections (or
an analyst reloading it) writes once, not five times.

A flush also notes which organisations it stored counts of watched figures for (`watch`,
`noticed`): the security alerts check those organisations alone, so that a quiet node checks
none, at no cost to counting.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Collection
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from parlour.rollups.models import DETAIL_CHARS, Count, Figure
from parlour.rollups.repository import CountRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tasks import Periodic

log = logging.getLogger(__name__)

Key = tuple[str, Figure, str, datetime]  # tenant, figure, detail, hour
FRESH_SECONDS = 1.0  # a report reads counts flushed at most this long ago


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


class Tally:
    def __init__(
        self,
        db: Database,
        *,
        flush_seconds: float,
        clock: Clock = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._clock = clock
        self._monotonic = monotonic
        self._flushed_at: float | None = None  # when the last good flush began (monotonic)
        self._pending: Counter[Key] = Counter()
        self._flushing = asyncio.Lock()
        self._rounds = Periodic(
            self.flush, flush_seconds, failed="report counts not flushed; kept for the next try"
        )
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

    async def refresh(self) -> None:
        """Make the counts a report is about to read fresh enough: flush, unless a flush that
        succeeded began less than `FRESH_SECONDS` ago."""
        last = self._flushed_at
        if last is not None and self._monotonic() - last < FRESH_SECONDS:
            return
        await self.flush()

    async def flush(self) -> None:
        """Add what this process counted to the database, in one transaction. On a failure,
        what was not stored is kept for the next flush (an organisation deleted since it was
        counted excepted), and the failure raised."""
        async with self._flushing:
            began = self._monotonic()
            pending, self._pending = self._pending, Counter()
            if pending:
                try:
                    await self._store(_counts(pending))
                except IntegrityError:
                    await self._store_each_tenant(pending)
                except BaseException:
                    self._pending.update(pending)  # counted again at the next flush
                    raise
            self._flushed_at = began

    async def _store(self, counts: list[Count]) -> None:
        async with self._db.transaction(*{c.tenant_id for c in counts}) as conn:
            await CountRepository(conn).add(counts)
        self._noticed.update(c.tenant_id for c in counts if c.figure in self._watched)

    async def _store_each_tenant(self, pending: Counter[Key]) -> None:
        """An organisation deleted since it was counted fails the whole batch: store the others,
        and drop its counts, as its other rows went. Any other failure puts back the counts of
        the organisations not stored yet, its own included."""
        by_tenant: dict[str, Counter[Key]] = {}
        for key, value in pending.items():
            by_tenant.setdefault(key[0], Counter())[key] = value
        left = list(by_tenant.values())
        while left:
            try:
                await self._store(_counts(left[0]))
            except IntegrityError:
                pass
            except BaseException:
                for tenant_pending in left:
                    self._pending.update(tenant_pending)
                raise
            left.pop(0)

    def start(self) -> None:
        """Flush every `flush_seconds` until `aclose`."""
        self._rounds.start()

    async def aclose(self) -> None:
        """Stop flushing on a timer, and flush what is left."""
        await self._rounds.aclose()
        await self.flush()


def _counts(pending: Counter[Key]) -> list[Count]:
    return [Count(t, f, d, h, v) for (t, f, d, h), v in pending.items()]
