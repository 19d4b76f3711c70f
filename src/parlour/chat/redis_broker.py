"""Fan-out between nodes through Redis pub/sub (the scaled-out profile).

Only notices cross Redis: "message N is stored" and typing states, never a message's content;
every other node reads the sealed message from the database itself (the publishing node hands
the event to its own subscribers directly and skips its own notices). An organisation's desk
events (chat/desk_events.py: ids, numbers and states, never a text) go on a channel of their own
per organisation. Each node holds one subscription with a pattern for each kind of channel and
hands notices to its local subscribers. If the Redis connection fails, every
local subscriber is told to resync (its socket closes with 1013 and the client resumes from the
database on any node), and the node subscribes again.

Until it has, a notice from another node would not reach this one: no socket is let in meanwhile
(`subscribed`), and any that began to listen in the gap all the same (its handshake had passed
before the loss) is told to resync once the subscription is back.

Notices leave in the background, in order, and those queued while one round trip is under way
go together in the next pipeline: a message's sender hears `accepted` once the message is
stored, without waiting on Redis, and a busy node pays one round trip per batch of notices
instead of one per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable

from redis.asyncio import Redis

from parlour.chat import desk_events
from parlour.chat.broker import DeskListener, InProcessBroker, Listener
from parlour.chat.desk_events import DeskEvent
from parlour.chat.models import (
    Author,
    ConversationEvent,
    MessageAdded,
    MessageStored,
    ReadUpTo,
    TypingChanged,
)
from parlour.errors import Unavailable
from parlour.shared_redis import FAILURES
from parlour.tasks import detached

log = logging.getLogger(__name__)
SUBSCRIBE_TIMEOUT_SECONDS = 10.0
# How long a socket's handshake waits for the subscription to come back before it is refused.
SUBSCRIBED_WAIT_SECONDS = 5.0
# Subscribing again after a loss: at once, then backing off to a second between tries.
RETRY_FIRST_SECONDS = 0.05
RETRY_MAX_SECONDS = 1.0
# Notices one pipeline carries at most, and how many may wait before publishers wait too.
NOTICES_PER_PIPELINE = 512
NOTICES_QUEUED_AT_MOST = 8192


def encode(event: ConversationEvent, node: str) -> str | None:
    """The notice for other nodes, naming the node that sent it."""
    if isinstance(event, MessageAdded | MessageStored):
        seq = event.message.seq if isinstance(event, MessageAdded) else event.seq
        return json.dumps({"t": "stored", "seq": seq, "n": node})
    if isinstance(event, TypingChanged):
        notice = {"t": "typing", "author": event.author.value, "active": event.active, "n": node}
        if event.name is not None:
            notice["name"] = event.name  # a member's display name, never customer text
        return json.dumps(notice)
    if isinstance(event, ReadUpTo):
        return json.dumps({"t": "read", "author": event.author.value, "seq": event.seq, "n": node})
    return None


def decode(payload: str | bytes) -> tuple[ConversationEvent, str] | None:
    """The event and the node that sent it."""
    try:
        data = json.loads(payload)
        node = str(data.get("n", ""))
        if data["t"] == "stored":
            return MessageStored(int(data["seq"])), node
        if data["t"] == "typing":
            name = data.get("name")
            typing = TypingChanged(
                Author(data["author"]), bool(data["active"]), str(name) if name else None
            )
            return typing, node
        if data["t"] == "read":
            return ReadUpTo(Author(data["author"]), int(data["seq"])), node
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning("ignored a malformed broker notice")
    return None


class RedisBroker:
    def __init__(self, redis: Redis, *, prefix: str) -> None:
        self._redis = redis
        self._prefix = f"{prefix}:conv:"
        # An organisation's desk channel: one per tenant, named by it (T-98).
        self._desk_prefix = f"{prefix}:desk:"
        self._local = InProcessBroker()
        # Events from this node reach its own subscribers directly, with their content; Redis
        # hands the notice back too, and it is skipped.
        self._node = secrets.token_hex(8)
        self._reader: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._notices: list[tuple[str, str]] = []
        self._sender: asyncio.Task[None] | None = None
        self._room = asyncio.Event()
        self._room.set()

    def _channel(self, tenant_id: str, conversation_id: str) -> str:
        # The tenant is part of every channel name: no event crosses organisations (T-34).
        return f"{self._prefix}{tenant_id}:{conversation_id}"

    async def start(self) -> None:
        if self._reader is None:
            self._reader = asyncio.create_task(self._listen())
        async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
            await self._ready.wait()

    async def publish(self, tenant_id: str, conversation_id: str, event: ConversationEvent) -> None:
        await self._local.publish(tenant_id, conversation_id, event)
        payload = encode(event, self._node)
        if payload is None:
            return
        await self._queue(self._channel(tenant_id, conversation_id), payload)

    async def publish_desk(self, tenant_id: str, event: DeskEvent) -> None:
        await self._local.publish_desk(tenant_id, event)
        await self._queue(f"{self._desk_prefix}{tenant_id}", desk_events.encode(event, self._node))

    def listen_desk(self, tenant_id: str, listener: DeskListener) -> Callable[[], None]:
        return self._local.listen_desk(tenant_id, listener)

    async def _queue(self, channel: str, payload: str) -> None:
        await self._room.wait()
        self._notices.append((channel, payload))
        if len(self._notices) >= NOTICES_QUEUED_AT_MOST:
            self._room.clear()
        if self._sender is None:
            self._sender = detached(self._send_notices(), name="redis notices")

    async def _send_notices(self) -> None:
        try:
            while self._notices:
                batch = self._notices[:NOTICES_PER_PIPELINE]
                self._notices = self._notices[NOTICES_PER_PIPELINE:]
                try:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for channel, payload in batch:
                            pipe.publish(channel, payload)
                        await pipe.execute()
                except FAILURES as error:
                    # The messages are stored: other nodes' sockets find them at their next
                    # notice, or when they resume.
                    log.warning("%d notices not published (%s)", len(batch), type(error).__name__)
                if len(self._notices) < NOTICES_QUEUED_AT_MOST:
                    self._room.set()
        finally:
            self._sender = None

    def listen(
        self, tenant_id: str, conversation_id: str, listener: Listener
    ) -> Callable[[], None]:
        return self._local.listen(tenant_id, conversation_id, listener)

    async def subscribed(self) -> None:
        if self._ready.is_set():
            return
        try:
            async with asyncio.timeout(SUBSCRIBED_WAIT_SECONDS):
                await self._ready.wait()
        except TimeoutError:
            raise Unavailable(
                "Live updates are unavailable for a moment; try again shortly."
            ) from None

    async def _listen(self) -> None:
        delay, lost = RETRY_FIRST_SECONDS, False
        while True:
            pubsub = self._redis.pubsub()
            try:
                patterns = (f"{self._prefix}*", f"{self._desk_prefix}*")
                await pubsub.psubscribe(*patterns)
                confirmed = 0
                async for message in pubsub.listen():
                    if message["type"] == "psubscribe":
                        confirmed += 1
                        if confirmed < len(patterns):
                            continue  # subscribed once both patterns are
                        if lost:
                            # A socket that began to listen while this node was not
                            # subscribed may have missed notices: it resumes from the database.
                            self._local.resync_all()
                            lost, delay = False, RETRY_FIRST_SECONDS
                            log.info("broker subscribed again")
                        self._ready.set()
                    elif message["type"] == "pmessage":
                        await self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
                raise
            except FAILURES as error:
                if not lost:
                    log.warning(
                        "broker connection lost (%s); resyncing subscribers", type(error).__name__
                    )
                self._ready.clear()
                lost = True
                self._local.resync_all()
                with contextlib.suppress(*FAILURES):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _dispatch(self, channel: str | bytes, data: str | bytes) -> None:
        name = channel.decode() if isinstance(channel, bytes) else channel
        if name.startswith(self._desk_prefix):
            desk = desk_events.decode(data)
            if desk is not None and desk[1] != self._node:
                await self._local.publish_desk(name.removeprefix(self._desk_prefix), desk[0])
            return
        tenant_id, _, conversation_id = name.removeprefix(self._prefix).partition(":")
        decoded = decode(data)
        if decoded is not None and decoded[1] != self._node and conversation_id:
            await self._local.publish(tenant_id, conversation_id, decoded[0])

    async def flush(self) -> None:
        if self._sender is not None:
            await asyncio.shield(self._sender)

    async def aclose(self) -> None:
        await self.flush()  # what was published before closing still goes out
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._local.aclose()
        await self._redis.aclose()
