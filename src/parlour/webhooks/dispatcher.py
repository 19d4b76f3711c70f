"""Sends what the outbox owes: each delivery as one signed POST (T-84) to a vetted address of its
endpoint's host, redirects never followed (T-87), answers never read; deleted once the endpoint
answers 2xx, tried again later with growing waits otherwise, and given up after about a day.

Every node runs a dispatcher. A node takes a delivery by moving its next attempt forward
(`claim`), so two nodes never send the same one at once; a node that dies holding one leaves it
to be taken again when the lease runs out. Receivers still deduplicate on `webhook-id`: a
delivery the endpoint took but whose answer was lost is sent again, under the same id.

Endpoints are served side by side, each one's deliveries in turn, and an endpoint that fails
is left alone for the rest of the round: one that is down or slow delays only itself. Order is
not promised across retries; `seq` in the payload orders a conversation's messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import datetime, timedelta

import httpx2

from parlour.chat.repository import ConversationRepository, MessageRepository
from parlour.crypto.vault import Vault
from parlour.egress import EgressGuard, EgressRefused
from parlour.errors import NotFound
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import utcnow
from parlour.webhooks.endpoints import WebhookEndpoints
from parlour.webhooks.models import Delivery, WebhookEndpoint
from parlour.webhooks.repository import DeliveryRepository, EndpointRepository
from parlour.webhooks.signing import signed_headers

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=1)
FIRST_RETRY = timedelta(seconds=10)
LONGEST_WAIT = timedelta(hours=4)
MAX_ATTEMPTS = 16  # waits of 10 s, 20 s, … doubling up to 4 h: about 22 h in all
BATCH = 100
_GONE = "gone"


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failure."""
    return min(FIRST_RETRY * (1 << (attempts - 1)), LONGEST_WAIT)


class WebhookDispatcher:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        endpoints: WebhookEndpoints,
        egress: EgressGuard,
        *,
        poll_seconds: float = 1.0,
    ) -> None:
        self._db = db
        self._vault = vault
        self._endpoints = endpoints
        self._egress = egress
        self._poll_seconds = poll_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def deliver_due(self, now: datetime | None = None) -> int:
        """One round: send what is due now; how many deliveries endpoints took."""
        now = now or utcnow()
        async with self._db.read() as conn:
            due = await DeliveryRepository(conn).due(now, BATCH)
        by_endpoint: dict[str, list[Delivery]] = {}
        for delivery in due:
            by_endpoint.setdefault(delivery.endpoint_id, []).append(delivery)
        taken = await asyncio.gather(*(self._deliver(d, now) for d in by_endpoint.values()))
        return sum(taken)

    async def _deliver(self, deliveries: list[Delivery], now: datetime) -> int:
        """One endpoint's deliveries in turn, until one fails."""
        first = deliveries[0]
        try:
            endpoint, secrets = await self._endpoints.with_secrets(
                first.tenant_id, first.endpoint_id, now=now
            )
        except NotFound:
            endpoint, secrets = None, []  # removed: what it was owed is dropped
        taken = 0
        for delivery in deliveries:
            async with self._db.transaction() as conn:
                if not await DeliveryRepository(conn).claim(delivery, now + LEASE):
                    continue  # another node has it
            error = await self._send(delivery, endpoint, secrets, now)
            async with self._db.transaction() as conn:
                repository = DeliveryRepository(conn)
                if error is None or error is _GONE or delivery.attempts + 1 >= MAX_ATTEMPTS:
                    await repository.done(delivery.delivery_id)
                else:
                    attempts = delivery.attempts + 1
                    await repository.retry(
                        delivery.delivery_id, attempts, now + retry_delay(attempts)
                    )
                if error is not _GONE:
                    await EndpointRepository(conn).record(
                        delivery.tenant_id, delivery.endpoint_id, now, error
                    )
            if error is _GONE:
                continue
            if error is not None:
                return taken  # the endpoint is failing: its other deliveries wait
            taken += 1
        return taken

    async def _send(
        self,
        delivery: Delivery,
        endpoint: WebhookEndpoint | None,
        secrets: list[str],
        now: datetime,
    ) -> str | None:
        """None if the endpoint took the delivery; `_GONE` if there is nothing to send any
        more (the endpoint was removed, or the message deleted with its organisation's data);
        else why not, for the endpoint's owners to see."""
        if endpoint is None:
            return _GONE
        try:
            body = await self._payload(delivery)
        except NotFound:
            return _GONE
        return await self._post(endpoint.url, secrets, delivery.delivery_id, body, now)

    async def send_test(self, tenant_id: str, endpoint_id: str) -> str | None:
        """Send the endpoint a signed `webhook.test` event now, outside the outbox; None if it
        answered 2xx, else why not."""
        now = utcnow()
        endpoint, secrets = await self._endpoints.with_secrets(tenant_id, endpoint_id, now=now)
        body = _json(
            {
                "type": "webhook.test",
                "timestamp": now.isoformat(),
                "data": {"organisation_id": tenant_id, "endpoint_id": endpoint_id},
            }
        )
        return await self._post(endpoint.url, secrets, f"test-{time_ordered_id()}", body, now)

    async def _post(
        self, url: str, secrets: list[str], webhook_id: str, body: bytes, now: datetime
    ) -> str | None:
        headers = signed_headers(secrets, webhook_id, int(now.timestamp()), body)
        headers["Content-Type"] = "application/json"
        headers["User-Agent"] = "Parlour webhooks"
        try:
            async with (
                self._egress.client() as client,
                client.stream("POST", url, content=body, headers=headers) as answer,
            ):
                status = answer.status_code
        except EgressRefused as refused:
            return refused.message
        except httpx2.HTTPError as failed:
            return f"could not deliver: {type(failed).__name__}"
        if 200 <= status < 300:
            return None
        if 300 <= status < 400:
            return f"HTTP {status}: redirects are not followed"
        return f"HTTP {status}"

    async def _payload(self, delivery: Delivery) -> bytes:
        cipher = await self._vault.cipher(delivery.tenant_id)
        async with self._db.read() as conn:
            message = await MessageRepository(conn, cipher).get(
                delivery.tenant_id, delivery.message_id
            )
            conversation = await ConversationRepository(conn).get(
                delivery.tenant_id, delivery.conversation_id
            )
        if message is None or conversation is None:
            raise NotFound("no such message")
        created = message.created_at.isoformat()
        return _json(
            {
                "type": delivery.event,
                "timestamp": created,
                "data": {
                    "organisation_id": message.tenant_id,
                    "conversation_id": message.conversation_id,
                    "end_user_id": conversation.end_user_id,
                    "seq": message.seq,
                    "message_id": message.message_id,
                    "author": message.author.value,
                    "kind": message.kind.value,
                    "text": message.body,
                    "created_at": created,
                },
            }
        )

    async def _run(self) -> None:
        while True:
            try:
                await self.deliver_due()
            except Exception:
                log.exception("delivering webhooks failed; the next round tries again")
            await asyncio.sleep(self._poll_seconds)


def _json(event: dict[str, object]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
