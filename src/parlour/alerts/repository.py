"""The SQL of alerts sent: claiming the right to send one, within the rate limits the table's
unique constraints hold for every node at once."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.alerts.models import Alert
from parlour.storage.dialect import insert_unless_taken
from parlour.storage.tables import security_alerts


class AlertRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def figures_alerted(self, tenant_id: str, day: date) -> set[str]:
        """The figures already alerted on for this local day."""
        c = security_alerts.c
        rows = await self._conn.execute(
            select(c.figure).where(c.tenant_id == tenant_id, c.day == day.isoformat())
        )
        return {row[0] for row in rows}

    async def claim(self, alert: Alert, hour: datetime, per_hour: int) -> bool:
        """Record the alert as sent, if its figure has had none this day and the organisation
        has a slot left in this hour; whether it may be sent. A claim another node made first
        (the same figure and day, or the hour's last slot) wins: this one is refused."""
        for slot in range(per_hour):
            claimed = await insert_unless_taken(
                self._conn,
                security_alerts,
                {
                    "alert_id": alert.alert_id,
                    "tenant_id": alert.tenant_id,
                    "figure": alert.figure.value,
                    "day": alert.day.isoformat(),
                    "hour": hour,
                    "slot": slot,
                    "value": alert.count,
                    "sent_at": alert.at,
                },
            )
            if claimed:
                return True
        return False
