"""An organisation's security figures per day of its own time zone: what its security report
shows (API, dashboard) and what its alerts compare.

Counts are kept per hour in UTC; an hour belongs to the local day its start falls in
(rollups/period.py)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from parlour.alerts.models import SECURITY_FIGURES, TITLES, FigureDay, FigureSeries, SecurityReport
from parlour.rollups.period import Period
from parlour.rollups.repository import CountRepository
from parlour.rollups.tally import Tally
from parlour.storage.database import Database
from parlour.tenants.service import TenantService


class SecurityFigures:
    def __init__(self, db: Database, tenants: TenantService, tally: Tally) -> None:
        self._db = db
        self._tenants = tenants
        self._tally = tally

    async def report(self, tenant_id: str, period: Period) -> SecurityReport:
        """The organisation's security figures per local day of the period (this process's
        counts flushed first when they are not fresh enough)."""
        await self._tally.refresh()
        figures = await self.daily(tenant_id, period)
        return SecurityReport(tenant_id, period.time_zone, period.start, period.end, figures)

    async def daily(self, tenant_id: str, period: Period) -> tuple[FigureSeries, ...]:
        """Each security figure per local day of the period, days without any at 0."""
        async with self._db.read(tenant_id) as conn:
            counts = await CountRepository(conn).hourly(
                tenant_id, SECURITY_FIGURES, period.since, period.until
            )
        by_day: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for count in counts:
            by_day[count.figure, period.local(count.hour).date()][count.detail] += count.value
        return tuple(
            FigureSeries(
                figure,
                TITLES[figure],
                tuple(_day(day, by_day.get((figure, day), {})) for day in period.days()),
            )
            for figure in SECURITY_FIGURES
        )


def _day(day: date, details: dict[str, int]) -> FigureDay:
    return FigureDay(day, sum(details.values()), {k: v for k, v in sorted(details.items()) if v})
