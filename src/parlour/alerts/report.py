"""An organisation's security figures per day of its own time zone: what its security report
shows (API, dashboard) and what its alerts compare.

Counts are kept per hour in UTC; an hour belongs to the local day its start falls in (in a zone
half an hour off UTC, an hour straddling midnight counts on the day it starts)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from parlour.alerts.models import SECURITY_FIGURES, TITLES, FigureDay, FigureSeries, SecurityReport
from parlour.errors import InvalidInput
from parlour.rollups.repository import CountRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tenants.models import Tenant
from parlour.tenants.service import TenantService

MAX_DAYS = 366  # the longest period a report covers
DEFAULT_DAYS = 14  # a report asked for without dates: the last two weeks, today included


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The moment (UTC) the day begins in the zone."""
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)


class SecurityFigures:
    def __init__(self, db: Database, tenants: TenantService, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._tenants = tenants
        self._clock = clock

    async def report(
        self, tenant_id: str, start: date | None = None, end: date | None = None
    ) -> SecurityReport:
        """The organisation's security figures per local day over [start, end] (by default,
        the last two weeks to today)."""
        tenant = await self._tenants.get(tenant_id)
        today = self._clock().astimezone(ZoneInfo(tenant.time_zone)).date()
        end = end or (today if start is None else min(start + timedelta(MAX_DAYS - 1), today))
        start = start or end - timedelta(DEFAULT_DAYS - 1)
        if start > end:
            raise InvalidInput("the period's start comes after its end")
        if (end - start).days + 1 > MAX_DAYS:
            raise InvalidInput(f"a report covers at most {MAX_DAYS} days")
        figures = await self.daily(tenant, start, end)
        return SecurityReport(tenant_id, tenant.time_zone, start, end, figures)

    async def daily(self, tenant: Tenant, start: date, end: date) -> tuple[FigureSeries, ...]:
        """Each security figure per local day of [start, end], days without any at 0."""
        zone = ZoneInfo(tenant.time_zone)
        since = local_midnight(start, zone)
        until = local_midnight(end + timedelta(days=1), zone)
        async with self._db.read(tenant.tenant_id) as conn:
            counts = await CountRepository(conn).hourly(
                tenant.tenant_id, SECURITY_FIGURES, since, until
            )
        by_day: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for count in counts:
            day = count.hour.astimezone(zone).date()
            by_day[count.figure, day][count.detail] += count.value
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        return tuple(
            FigureSeries(
                figure,
                TITLES[figure],
                tuple(_day(day, by_day.get((figure, day), {})) for day in days),
            )
            for figure in SECURITY_FIGURES
        )


def _day(day: date, details: dict[str, int]) -> FigureDay:
    return FigureDay(day, sum(details.values()), {k: v for k, v in sorted(details.items()) if v})
