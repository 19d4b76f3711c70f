"""The SQL of report counts (`report_counts`, its one home): adding to them, and reading them
back by hour, by span of time (a period's local days), by detail or in total."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.rollups.models import BY_DAY, Count, Figure, day_of, kept
from parlour.storage.dialect import accumulate, per_span
from parlour.storage.tables import report_counts


class CountRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, counts: Sequence[Count]) -> None:
        """Add each count to its row, creating the row the first time (and to its day's row,
        for a figure also kept per day)."""
        await accumulate(
            self._conn,
            report_counts,
            [
                {
                    "tenant_id": c.tenant_id,
                    "metric": c.figure.value,
                    "detail": c.detail,
                    "hour": c.hour,
                    "value": c.value,
                }
                for c in kept(counts)
            ],
            keys=["tenant_id", "metric", "hour", "detail"],
            column="value",
        )

    async def hourly(
        self, tenant_id: str, figures: Collection[Figure], since: datetime, until: datetime
    ) -> list[Count]:
        """The organisation's counts of these figures in [since, until), by hour and detail."""
        c = report_counts.c
        rows = await self._conn.execute(
            select(c.metric, c.detail, c.hour, c.value)
            .where(
                c.tenant_id == tenant_id,
                c.metric.in_([f.value for f in figures]),
                c.hour >= since,
                c.hour < until,
            )
            .order_by(c.hour)
        )
        return [Count(tenant_id, Figure(r.metric), r.detail, r.hour, r.value) for r in rows]

    async def hours(
        self, tenant_id: str, figure: Figure, since: datetime, until: datetime
    ) -> list[tuple[datetime, int]]:
        """A figure's counts in [since, until), summed over its details, hour by hour."""
        c = report_counts.c
        rows = await self._conn.execute(
            select(c.hour, func.sum(c.value))
            .where(
                c.tenant_id == tenant_id,
                c.metric == figure.value,
                c.hour >= since,
                c.hour < until,
            )
            .group_by(c.hour)
            .order_by(c.hour)
        )
        return [(hour, int(value)) for hour, value in rows]

    async def per_span(
        self,
        tenant_id: str,
        figures: Collection[Figure],
        spans: Sequence[tuple[datetime, datetime]],
    ) -> dict[tuple[int, Figure, str], int]:
        """The counts of these figures in each span [since, until) (a period's local days, by
        the instants they start and end at), summed by figure and detail, keyed by the span's
        index in `spans`: an hour counts for the span its start falls in. None for nothing."""
        c = report_counts.c
        value = func.sum(c.value).label("value")
        rows = await self._conn.execute(
            per_span(
                self._conn,
                spans,
                c.hour,
                [c.metric, c.detail, value],
                where=[c.tenant_id == tenant_id, c.metric.in_([f.value for f in figures])],
                group_by=[c.metric, c.detail],
            )
        )
        return {(n, Figure(metric), detail): int(v) for n, metric, detail, v in rows}

    async def by_detail(
        self, tenant_id: str, figure: Figure, since: datetime, until: datetime
    ) -> dict[str, int]:
        """A figure's counts over hours that start in [since, until), summed by detail. A figure
        also kept per day is read by day over the whole UTC days of the period, and by hour
        over the hours at its ends that fill no UTC day."""
        c = report_counts.c

        def counts(of: Figure, start: datetime, end: datetime) -> ColumnElement[bool]:
            # The tenant in each term: SQLite then reads each as a range of its index.
            return and_(
                c.tenant_id == tenant_id, c.metric == of.value, c.hour >= start, c.hour < end
            )

        in_period = counts(figure, since, until)
        daily = BY_DAY.get(figure)
        first, last = day_of(since), day_of(until)  # the whole UTC days: [first, last)
        if first < since:
            first += timedelta(days=1)
        if daily is not None and first < last:
            in_period = or_(
                counts(daily, first, last),
                counts(figure, since, first),
                counts(figure, last, until),
            )
        rows = await self._conn.execute(
            select(c.detail, func.sum(c.value)).where(in_period).group_by(c.detail)
        )
        return {detail: int(value) for detail, value in rows}

    async def totals(
        self, tenant_ids: Collection[str], figures: Collection[Figure], since: datetime
    ) -> dict[tuple[str, Figure, str], int]:
        """Each organisation's total of each figure and detail since `since`, in one query."""
        c = report_counts.c
        rows = await self._conn.execute(
            select(c.tenant_id, c.metric, c.detail, func.sum(c.value))
            .where(
                c.tenant_id.in_(tenant_ids),
                c.metric.in_([f.value for f in figures]),
                c.hour >= since,
            )
            .group_by(c.tenant_id, c.metric, c.detail)
        )
        return {(t, Figure(m), d): int(v) for t, m, d, v in rows}
