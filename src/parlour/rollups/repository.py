"""The SQL of report counts (`report_counts`, its one home): adding to them, and reading them
back by hour, by detail or in total."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.rollups.models import Count, Figure
from parlour.storage.dialect import accumulate
from parlour.storage.tables import report_counts


class CountRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, counts: Sequence[Count]) -> None:
        """Add each count to its row, creating the row the first time."""
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
                for c in counts
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

    async def by_detail(
        self, tenant_id: str, figure: Figure, since: datetime, until: datetime
    ) -> dict[str, int]:
        """A figure's counts over hours that start in [since, until), summed by detail."""
        c = report_counts.c
        rows = await self._conn.execute(
            select(c.detail, func.sum(c.value))
            .where(
                c.tenant_id == tenant_id,
                c.metric == figure.value,
                c.hour >= since,
                c.hour < until,
            )
            .group_by(c.detail)
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
