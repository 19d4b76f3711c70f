"""Reading and setting an organisation's business hours (tenants/business_hours.py): set by its
admins (dashboard or API), audited; read by the widget's side of the chat to tell customers
when someone will answer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from parlour.audit.events import Actor, BusinessHoursSet
from parlour.audit.service import AuditLog
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tenants.business_hours import BusinessHours, checked
from parlour.tenants.business_hours_repository import BusinessHoursRepository
from parlour.tenants.service import TenantService


@dataclass(frozen=True, slots=True)
class OpeningState:
    """Whether the organisation is within its hours now, and if not when it opens next."""

    open: bool
    next_opening: datetime | None
    reply_time: str
    time_zone: str


class BusinessHoursService:
    def __init__(
        self, db: Database, tenants: TenantService, audit: AuditLog, *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._tenants = tenants
        self._audit = audit
        self._clock = clock

    async def get(self, tenant_id: str) -> BusinessHours:
        async with self._db.read(tenant_id) as conn:
            return await BusinessHoursRepository(conn).get(tenant_id)

    async def set(
        self,
        tenant_id: str,
        periods: Sequence[tuple[int, str, str]],
        closed_dates: Iterable[str],
        reply_time: str,
        *,
        actor: Actor,
    ) -> BusinessHours:
        hours = checked(periods, closed_dates, reply_time)
        event = BusinessHoursSet(len(hours.periods), len(hours.closed_dates), hours.reply_time)
        async with self._db.transaction(tenant_id) as conn:
            await BusinessHoursRepository(conn).put(tenant_id, hours, self._clock())
            await self._audit.record(conn, tenant_id, event, actor)
        return hours

    async def now(self, tenant_id: str) -> OpeningState:
        tenant = await self._tenants.get(tenant_id)
        hours = await self.get(tenant_id)
        now = self._clock()
        is_open = hours.is_open(now, tenant.time_zone)
        return OpeningState(
            is_open,
            None if is_open else hours.next_opening(now, tenant.time_zone),
            hours.reply_time,
            tenant.time_zone,
        )
