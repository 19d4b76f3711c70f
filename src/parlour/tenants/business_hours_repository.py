"""SQL for an organisation's business hours (tenants/business_hours.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.tables import business_hours
from parlour.tenants.business_hours import ALWAYS_OPEN, BusinessHours, from_stored, stored


class BusinessHoursRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, tenant_id: str) -> BusinessHours:
        row = (
            await self._conn.execute(
                select(business_hours).where(business_hours.c.tenant_id == tenant_id)
            )
        ).first()
        if row is None:
            return ALWAYS_OPEN
        m = row._mapping
        return from_stored(m["schedule"], m["closed_dates"], m["reply_time"])

    async def put(self, tenant_id: str, hours: BusinessHours, at: datetime) -> None:
        schedule, closed = stored(hours)
        await self._conn.execute(
            delete(business_hours).where(business_hours.c.tenant_id == tenant_id)
        )
        await self._conn.execute(
            insert(business_hours).values(
                tenant_id=tenant_id,
                schedule=schedule,
                closed_dates=closed,
                reply_time=hours.reply_time,
                updated_at=at,
            )
        )
