"""Sends what the outbox owes: each delivery as one signed POST (T-84) to a vetted address of its
endpoint's host, redirects never followed (T-87), answers never read; deleted once the endpoint
answers 2xx, tried again later with growing waits otherwise, and given up after about a day.
A message's event is built from the message when sent; an organisation's own event (a security
alert) carries its body from when it was owed. Each failed attempt counts in the organisation's
security figures.

Every node runs a dispatcher. A node takes deliveries by moving their next attempt forward
(`claim`), so two nodes never send the same one at once; a node that dies holding some leaves
them to be taken again when the lease runs out. Receivers still deduplicate on `webhook-id`: a
delivery the endpoint took but whose answer was lost is sent again, under the same id.

A round costs a few statements whatever its size (read what is due, claim it, read the messages,
settle the outcomes), and each endpoint's deliveries share its connections, a few requests at
once. Endpoints are served side by side; an endpoint that fails is left alone for the rest of
the round, so one that is down or slow delays only itself. Order is not promised: `seq` in the
payload orders a conversation's messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta

import httpx2
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour import metrics
from parlour.chat.models import MOVE_EVENTS, Conversation, Message
from parlour.chat.repository import ConversationRepository, MessageRepository
from parlour.crypto.vault import Vault
from parlour.egress import EgressGuard, EgressRefused
from parlour.errors import NotFound
from parlour.rollups.models import Figure
from parlour.rollups.tally import Tally
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow
from parlour.tasks import Backoff, Periodic
from parlour.webhooks.endpoints import WebhookEndpoints
from parlour.webhooks.models import Delivery
from parlour.webhooks.repository import DeliveryRepository, EndpointRepository
from parlour.webhooks.signing import signed_headers

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=1)
RETRIES = Backoff(first=timedelta(seconds=10), longest=timedelta(hours=4))
MAX_ATTEMPTS = 16  # waits of 10 s, 20 s, … doubling up to 4 h: about 22 h in all
BATCH = 500
IN_FLIGHT_PER_ENDPOINT = 8  # requests open to one endpoint at once
# Outcomes besides success (None) and an endpoint's error: nothing left to send (the endpoint
# was removed, or the message deleted with its organisation's data), and not tried this round
# (its endpoint failed first).
_GONE = "gone"
_NOT_TRIED = "not tried"
Outcome = tuple[Delivery, str | None]


class WebhookDispatcher:
    def __init__(
        self,
        db: Database,
        vault: Vault,
        endpoints: WebhookEndpoints,
        egress: EgressGuard,
        tally: Tally,
        *,
        poll_seconds: float = 1.0,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._vault = vault
        self._endpoints = endpoints
        self._egress = egress
        self._tally = tally  # counts failed attempts: an organisation's security figure
        self._clock = clock
        self._rounds = Periodic(
            self.deliver_due,
            poll_seconds,
            failed="delivering webhooks failed; the next round tries again",
            first_at_start=True,
        )

    def start(self) -> None:
        self._rounds.start()

    async def aclose(self) -> None:
        await self._rounds.aclose()

    async def deliver_due(self) -> int:
        """One round: send what is due now; how many deliveries endpoints took."""
        now = self._clock()
        async with self._db.read() as conn:
            due = await DeliveryRepository(conn).due(now, BATCH)
        if not due:
            return 0
        async with self._db.transaction() as conn:
            taken = await DeliveryRepository(conn).claim(
                [d.delivery_id for d in due], now=now, until=now + LEASE
            )
        by_endpoint: dict[str, list[Delivery]] = {}
        for delivery in due:
            if delivery.delivery_id in taken:  # the rest, another node has
                by_endpoint.setdefault(delivery.endpoint_id, []).append(delivery)
        rounds = await asyncio.gather(*(self._deliver(d, now) for d in by_endpoint.values()))
        outcomes = [outcome for endpoint in rounds for outcome in endpoint]
        async with self._db.transaction(*{d.tenant_id for d, _ in outcomes}) as conn:
            await _settle(conn, outcomes, now)
        for delivery, error in outcomes:
            if error is _NOT_TRIED:
                continue
            metrics.webhook_attempt(
                "delivered" if error is None else "gone" if error is _GONE else "failed"
            )
            if error is not None and error is not _GONE:
                self._tally.add(delivery.tenant_id, Figure.WEBHOOK_FAILURES)
        return sum(error is None for _, error in outcomes)

    async def send_test(self, tenant_id: str, endpoint_id: str) -> str | None:
        """Send the endpoint a signed `webhook.test` event now, outside the outbox; None if it
        answered 2xx, else why not."""
        now = self._clock()
        endpoint, secrets = await self._endpoints.with_secrets(tenant_id, endpoint_id, now=now)
        body = _json(
            {
                "type": "webhook.test",
                "timestamp": now.isoformat(),
                "data": {"organisation_id": tenant_id, "endpoint_id": endpoint_id},
            }
        )
        async with self._egress.client() as client:
            return await _post(
                client, endpoint.url, secrets, f"test-{time_ordered_id()}", body, now
            )

    async def _deliver(self, deliveries: list[Delivery], now: datetime) -> list[Outcome]:
        """One endpoint's deliveries, a few at a time in the order they are owed; after one
        fails, no more are started."""
        first = deliveries[0]
        try:
            endpoint, secrets = await self._endpoints.with_secrets(
                first.tenant_id, first.endpoint_id, now=now
            )
        except NotFound:
            return [(d, _GONE) for d in deliveries]
        stored = await self._stored(first.tenant_id, deliveries)
        slots = asyncio.Semaphore(IN_FLIGHT_PER_ENDPOINT)
        failing = False

        async def send(delivery: Delivery) -> Outcome:
            nonlocal failing
            if delivery.payload is not None:  # the organisation's own event, as it was owed
                body = delivery.payload.encode()
            elif (found := stored.get(delivery.message_id or "")) is not None:
                body = _payload(delivery.event, *found)
            else:
                return delivery, _GONE
            async with slots:
                if failing:
                    return delivery, _NOT_TRIED
                error = await _post(client, endpoint.url, secrets, delivery.delivery_id, body, now)
                failing = failing or error is not None
                return delivery, error

        async with self._egress.client() as client:
            return list(await asyncio.gather(*(send(d) for d in deliveries)))

    async def _stored(
        self, tenant_id: str, deliveries: list[Delivery]
    ) -> dict[str, tuple[Message, Conversation]]:
        """The messages these deliveries are about, with their conversations, by message id."""
        message_ids = {d.message_id for d in deliveries if d.message_id is not None}
        if not message_ids:
            return {}
        cipher = await self._vault.cipher(tenant_id)
        async with self._db.read(tenant_id) as conn:
            found = await MessageRepository(conn, cipher).get_many(tenant_id, message_ids)
            conversations = await ConversationRepository(conn).get_many(
                tenant_id, {m.conversation_id for m in found}
            )
        return {
            m.message_id: (m, conversations[m.conversation_id])
            for m in found
            if m.conversation_id in conversations
        }


async def _post(
    client: httpx2.AsyncClient,
    url: str,
    secrets: list[str],
    webhook_id: str,
    body: bytes,
    now: datetime,
) -> str | None:
    """None if the endpoint answered 2xx; else why not, for its owners to see."""
    headers = signed_headers(secrets, webhook_id, int(now.timestamp()), body)
    headers["Content-Type"] = "application/json"
    headers["User-Agent"] = "Parlour webhooks"
    try:
        async with client.stream("POST", url, content=body, headers=headers) as answer:
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


def _payload(event: str, message: Message, conversation: Conversation) -> bytes:
    created = message.created_at.isoformat()
    if event in MOVE_EVENTS.values():
        # A move of the desk: ids and states only, never text. The status is the move's (read
        # from its announcement); the assignee is the conversation's when this is sent.
        return _json(
            {
                "type": event,
                "timestamp": created,
                "data": {
                    "organisation_id": message.tenant_id,
                    "conversation_id": message.conversation_id,
                    "end_user_id": conversation.end_user_id,
                    "seq": message.seq,
                    "message_id": message.message_id,
                    "status": "assigned" if event == "conversation.assigned" else "resolved",
                    "assignee_id": conversation.assignee,
                    "created_at": created,
                },
            }
        )
    return _json(
        {
            "type": event,
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


async def _settle(conn: AsyncConnection, outcomes: list[Outcome], now: datetime) -> None:
    """A round's outcomes, written at once: taken, gone or given up are done; a failure waits
    its turn; what was not tried is due again now; each endpoint's latest attempt is recorded."""
    deliveries = DeliveryRepository(conn)
    failed = [(d, e) for d, e in outcomes if e is not None and e not in (_GONE, _NOT_TRIED)]
    given_up = {d.delivery_id for d, _ in failed if d.attempts + 1 >= MAX_ATTEMPTS}
    await deliveries.done(
        [d.delivery_id for d, e in outcomes if e is None or e is _GONE] + sorted(given_up)
    )
    await deliveries.release([d.delivery_id for d, e in outcomes if e is _NOT_TRIED], now)
    for delivery, _ in failed:
        if delivery.delivery_id not in given_up:
            attempts = delivery.attempts + 1
            await deliveries.retry(delivery.delivery_id, attempts, now + RETRIES.after(attempts))
    latest: dict[tuple[str, str], str | None] = {}
    for delivery, error in outcomes:
        if error is not _GONE and error is not _NOT_TRIED:
            latest[delivery.tenant_id, delivery.endpoint_id] = error
    endpoints = EndpointRepository(conn)
    for (tenant_id, endpoint_id), error in latest.items():
        await endpoints.record(tenant_id, endpoint_id, now, error)


def _json(event: dict[str, object]) -> bytes:
    return json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
