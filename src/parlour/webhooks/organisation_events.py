"""An organisation's own webhook events (a security alert), owed like a message's: one delivery
per endpoint that hears the event, written in the caller's transaction, sent and signed by the
dispatcher as every delivery is. The event's body is fixed when it is owed and stored with the
delivery, so it must hold nothing sealed (counts and codes, never customer text, T-106)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.webhooks.endpoints import WebhookEndpoints
from parlour.webhooks.models import ORGANISATION_EVENTS
from parlour.webhooks.repository import DeliveryRepository


class OrganisationEvents:
    def __init__(self, endpoints: WebhookEndpoints) -> None:
        self._endpoints = endpoints

    async def owe(
        self,
        conn: AsyncConnection,
        tenant_id: str,
        event: str,
        data: dict[str, object],
        at: datetime,
    ) -> int:
        """Owe the event to every endpoint of the organisation that hears it; how many."""
        if event not in ORGANISATION_EVENTS:
            raise ValueError(f"not an organisation's event: {event}")
        endpoint_ids = (await self._endpoints.endpoints(tenant_id)).get(event, ())
        body = {"type": event, "timestamp": at.isoformat(), "data": data}
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        await DeliveryRepository(conn).owe(tenant_id, endpoint_ids, event, payload, at)
        return len(endpoint_ids)
