"""SQL for webhook endpoints and the deliveries owed to them. Endpoint methods take
`tenant_id` first; deliveries are picked across tenants by the dispatcher, and each names its
tenant, which every later read filters on."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.ids import time_ordered_id
from parlour.storage.tables import webhook_deliveries, webhook_endpoints
from parlour.webhooks.models import Delivery, WebhookEndpoint


class EndpointRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def of_tenant(self, tenant_id: str) -> list[WebhookEndpoint]:
        rows = await self._conn.execute(
            select(webhook_endpoints)
            .where(webhook_endpoints.c.tenant_id == tenant_id)
            .order_by(webhook_endpoints.c.created_at)
        )
        return [_endpoint(row) for row in rows]

    async def get(
        self, tenant_id: str, endpoint_id: str
    ) -> tuple[WebhookEndpoint, bytes, bytes | None] | None:
        """The endpoint, its sealed secret, and the sealed secret it replaced, if any."""
        row = (
            await self._conn.execute(
                select(webhook_endpoints).where(
                    webhook_endpoints.c.tenant_id == tenant_id,
                    webhook_endpoints.c.endpoint_id == endpoint_id,
                )
            )
        ).first()
        if row is None:
            return None
        m = row._mapping
        return _endpoint(row), m["secret_sealed"], m["previous_secret_sealed"]

    async def replace_secret(
        self,
        tenant_id: str,
        endpoint_id: str,
        *,
        secret_sealed: bytes,
        previous_sealed: bytes,
        previous_until: datetime,
    ) -> None:
        await self._conn.execute(
            update(webhook_endpoints)
            .where(
                webhook_endpoints.c.tenant_id == tenant_id,
                webhook_endpoints.c.endpoint_id == endpoint_id,
            )
            .values(
                secret_sealed=secret_sealed,
                previous_secret_sealed=previous_sealed,
                previous_secret_until=previous_until,
            )
        )

    async def insert(self, endpoint: WebhookEndpoint, secret_sealed: bytes) -> None:
        await self._conn.execute(
            insert(webhook_endpoints).values(
                tenant_id=endpoint.tenant_id,
                endpoint_id=endpoint.endpoint_id,
                url=endpoint.url,
                events=list(endpoint.events),
                secret_sealed=secret_sealed,
                created_at=endpoint.created_at,
            )
        )

    async def delete(self, tenant_id: str, endpoint_id: str) -> bool:
        """The endpoint and what it was owed."""
        await self._conn.execute(
            delete(webhook_deliveries).where(
                webhook_deliveries.c.tenant_id == tenant_id,
                webhook_deliveries.c.endpoint_id == endpoint_id,
            )
        )
        result = await self._conn.execute(
            delete(webhook_endpoints).where(
                webhook_endpoints.c.tenant_id == tenant_id,
                webhook_endpoints.c.endpoint_id == endpoint_id,
            )
        )
        return bool(result.rowcount)

    async def record(
        self, tenant_id: str, endpoint_id: str, at: datetime, error: str | None
    ) -> None:
        """The outcome of the latest attempt: success (no error) or failure and why."""
        values: dict[str, object] = (
            {"last_success_at": at}
            if error is None
            else {"last_failure_at": at, "last_error": error[:300]}
        )
        await self._conn.execute(
            update(webhook_endpoints)
            .where(
                webhook_endpoints.c.tenant_id == tenant_id,
                webhook_endpoints.c.endpoint_id == endpoint_id,
            )
            .values(**values)
        )


class DeliveryRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        rows = await self._conn.execute(
            select(webhook_deliveries)
            .where(webhook_deliveries.c.next_attempt_at <= now)
            .order_by(webhook_deliveries.c.next_attempt_at, webhook_deliveries.c.delivery_id)
            .limit(limit)
        )
        return [_delivery(row) for row in rows]

    async def pending(self, tenant_id: str, endpoint_id: str) -> list[Delivery]:
        rows = await self._conn.execute(
            select(webhook_deliveries)
            .where(
                webhook_deliveries.c.tenant_id == tenant_id,
                webhook_deliveries.c.endpoint_id == endpoint_id,
            )
            .order_by(webhook_deliveries.c.delivery_id)
        )
        return [_delivery(row) for row in rows]

    async def claim(
        self, delivery_ids: Collection[str], *, now: datetime, until: datetime
    ) -> set[str]:
        """Take for sending until `until` those of these deliveries still due at `now`: one
        another node took meanwhile has had its next attempt moved past now."""
        rows = await self._conn.execute(
            update(webhook_deliveries)
            .where(
                webhook_deliveries.c.delivery_id.in_(delivery_ids),
                webhook_deliveries.c.next_attempt_at <= now,
            )
            .values(next_attempt_at=until)
            .returning(webhook_deliveries.c.delivery_id)
        )
        return {row[0] for row in rows}

    async def done(self, delivery_ids: Collection[str]) -> None:
        if delivery_ids:
            await self._conn.execute(
                delete(webhook_deliveries).where(webhook_deliveries.c.delivery_id.in_(delivery_ids))
            )

    async def release(self, delivery_ids: Collection[str], at: datetime) -> None:
        """Due again at `at`, no attempt counted (claimed, but not tried this round)."""
        if delivery_ids:
            await self._conn.execute(
                update(webhook_deliveries)
                .where(webhook_deliveries.c.delivery_id.in_(delivery_ids))
                .values(next_attempt_at=at)
            )

    async def retry(self, delivery_id: str, attempts: int, at: datetime) -> None:
        await self._conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.delivery_id == delivery_id)
            .values(attempts=attempts, next_attempt_at=at)
        )

    async def owe(
        self, tenant_id: str, endpoint_ids: Collection[str], event: str, payload: str, at: datetime
    ) -> None:
        """An organisation's own event, owed to each of these endpoints, due at once."""
        if endpoint_ids:
            await self._conn.execute(
                insert(webhook_deliveries),
                [
                    {
                        "delivery_id": time_ordered_id(),
                        "tenant_id": tenant_id,
                        "endpoint_id": endpoint_id,
                        "event": event,
                        "conversation_id": None,
                        "message_id": None,
                        "payload": payload,
                        "attempts": 0,
                        "next_attempt_at": at,
                        "created_at": at,
                    }
                    for endpoint_id in endpoint_ids
                ],
            )


async def subscriptions(conn: AsyncConnection, tenant_id: str) -> Sequence[tuple[str, list[str]]]:
    rows = await conn.execute(
        select(webhook_endpoints.c.endpoint_id, webhook_endpoints.c.events).where(
            webhook_endpoints.c.tenant_id == tenant_id
        )
    )
    return [(row[0], list(row[1])) for row in rows]


def _endpoint(row: Row[tuple[object, ...]]) -> WebhookEndpoint:
    m = row._mapping
    return WebhookEndpoint(
        tenant_id=m["tenant_id"],
        endpoint_id=m["endpoint_id"],
        url=m["url"],
        events=tuple(m["events"]),
        created_at=m["created_at"],
        previous_secret_until=m["previous_secret_until"],
        last_success_at=m["last_success_at"],
        last_failure_at=m["last_failure_at"],
        last_error=m["last_error"],
    )


def _delivery(row: Row[tuple[object, ...]]) -> Delivery:
    m = row._mapping
    return Delivery(
        delivery_id=m["delivery_id"],
        tenant_id=m["tenant_id"],
        endpoint_id=m["endpoint_id"],
        event=m["event"],
        conversation_id=m["conversation_id"],
        message_id=m["message_id"],
        attempts=m["attempts"],
        next_attempt_at=m["next_attempt_at"],
        payload=m["payload"],
    )
