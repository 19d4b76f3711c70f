"""Fan-out between nodes through Redis pub/sub (the scaled-out profile).

Past 400 lines as one concept, the broker's two halves over Redis: the notices a node publishes
and the subscriptions it holds to hear others'. They share the channel names, the node's mark on
its notices, and what a lost link means for the local listeners (resync), and are read together.

Only notices cross Redis: "message N is stored" and typing states, never a message's content;
every other node reads the sealed message from the database itself (the publishing node hands
the event to its own listeners directly and skips its own notices, known by the node's mark
without being decoded). An organisation's desk events (chat/desk_events.py: ids, numbers and
states, never a text) go on a channel of their own per organisation. Every channel name holds
the tenant (T-34, T-98): `{prefix}:conv:{tenant}:{conversation}` and `{prefix}:desk:{tenant}`.

A node subscribes to a conversation's channel only while it holds a listener of that
conversation (a customer's socket), and to an organisation's desk channel only while it holds
a desk listener of that organisation: on the first local listener it subscribes, when the last
one goes it unsubscribes. So a node reads the notices of what its own sockets watch and no
others. (With one pattern subscription per kind of channel every node read every node's
notices, two a message, its own included; that was the largest share of a scaled-out node's
work, docs/benchmarks.md.)

No gap between a socket's history and its live events: `listen` adds the local listener, then
returns only once Redis has confirmed the channel's subscription, and the socket reads its
history from the database after that. A notice published before the confirmation is about
something already stored, which the history holds; one published after reaches the listener.
Subscriptions asked for meanwhile go out together, as notices do below: one SUBSCRIBE and one
UNSUBSCRIBE command a batch, the next batch once Redis has answered the last, so a reconnect
storm of thousands of sockets costs a few commands, not a round trip each in a row. What is sent
is worked out from what is wanted (channels with local listeners) against what Redis has
confirmed, so a listener that comes while its channel's UNSUBSCRIBE is on its way still ends
subscribed. The bookkeeping is a few entries per channel and no task: an idle socket stays
cheap.

One connection carries the subscriptions and one task reads it. The commands are written on it
by a task that exists only while there are some to send, while the reader waits (an asyncio
stream reads and writes independently, and one command is written whole). The connection is
driven directly rather than through redis-py's PubSub, which on a read error connects again and
subscribes again by itself: notices published in between would be lost with nobody told.

If the Redis connection fails, every local listener is told to resync (its socket closes with
1013 and the client resumes from the database on any node); the node connects again and
subscribes again to every channel that still has local listeners. Until it has connected, no
socket is let in (`subscribed`); a listener that comes meanwhile waits for its channel's
confirmation like any other, for a bounded time (`Unavailable` past it).

Notices leave in the background, in order, and those queued while one round trip is under way
go together in the next pipeline: a message's sender hears `accepted` once the message is
stored, without waiting on Redis, and a busy node pays one round trip per batch of notices
instead of one per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection

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
# How long a socket's handshake waits for the node to connect again, and a listener for its
# channel's subscription to be confirmed, before it is refused.
SUBSCRIBED_WAIT_SECONDS = 5.0
# Channels one SUBSCRIBE (or UNSUBSCRIBE) command names at most.
CHANNELS_PER_COMMAND = 2048
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


def node_mark(node: str) -> bytes:
    """What every notice from `node` holds, conversation's and desk's alike (both are JSON
    from `json.dumps` with its default separators). Only the notice's own field can match: in
    a string inside a notice (a member's display name) every quote is escaped. A node skips its
    own notices by it without decoding them; over Redis most of what a node reads is its own,
    echoed back on the channels its sockets watch."""
    return f'"n": "{node}"'.encode()


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
    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        pause: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._redis = redis
        self._pause = pause  # between tries to connect again (tests see the backoff)
        self._prefix = f"{prefix}:conv:"
        # An organisation's desk channel: one per tenant, named by it (T-98).
        self._desk_prefix = f"{prefix}:desk:"
        self._conv_channels = self._prefix.encode()
        self._desk_channels = self._desk_prefix.encode()
        self._local = InProcessBroker()
        # Events from this node reach its own listeners directly, with their content; Redis
        # hands the notice back too, and it is skipped.
        self._node = secrets.token_hex(8)
        self._own = node_mark(self._node)
        self._reader: asyncio.Task[None] | None = None
        self._proven = False  # the current connection answered a subscription
        self._ready = asyncio.Event()  # connected: listeners' channels can be subscribed
        # The subscriptions, by channel name as Redis spells it back.
        self._wanted: dict[bytes, int] = {}  # each channel with local listeners: how many
        self._confirmed: set[bytes] = set()  # what Redis confirmed on the current connection
        # Sent in the current batch, not yet answered: each name, to the very object sent (kept
        # in `_confirmed` rather than the equal one each answer brings: one copy of a name).
        self._in_flight: dict[bytes, bytes] = {}
        self._answered = asyncio.Event()  # the current batch is answered (or the link lost)
        self._answered.set()
        self._dirty: dict[bytes, None] = {}  # channels to compare with Redis, in order
        self._waiting: dict[bytes, asyncio.Future[None]] = {}  # listeners' until confirmed
        self._connection: AbstractConnection | None = None
        self._subscriber: asyncio.Task[None] | None = None
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

    async def listen(
        self, tenant_id: str, conversation_id: str, listener: Listener
    ) -> Callable[[], None]:
        stop = self._local.add(tenant_id, conversation_id, listener)
        return await self._hold(self._channel(tenant_id, conversation_id).encode(), stop)

    async def listen_desk(self, tenant_id: str, listener: DeskListener) -> Callable[[], None]:
        stop = self._local.add_desk(tenant_id, listener)
        return await self._hold(f"{self._desk_prefix}{tenant_id}".encode(), stop)

    async def _hold(self, channel: bytes, stop_local: Callable[[], None]) -> Callable[[], None]:
        """Keep `channel` subscribed for a listener already added locally (so an event this
        node publishes from now on reaches it), and return once Redis has confirmed it."""
        stop = _Holding(self, channel, stop_local)
        self._wanted[channel] = self._wanted.get(channel, 0) + 1
        if channel in self._confirmed and channel not in self._in_flight:
            return stop  # subscribed, and it stays so while wanted
        self._reconcile(channel)
        waiting = self._waiting.get(channel)
        if waiting is None:
            waiting = self._waiting[channel] = asyncio.get_running_loop().create_future()
        try:
            async with asyncio.timeout(SUBSCRIBED_WAIT_SECONDS):
                await asyncio.shield(waiting)  # one future per channel, for all its waiters
        except TimeoutError:
            stop()
            raise _unavailable() from None
        except BaseException:
            stop()
            raise
        return stop

    def _release(self, channel: bytes) -> None:
        """A listener of `channel` stopped: when it was the last, the channel is given up."""
        left = self._wanted[channel] - 1
        if left:
            self._wanted[channel] = left
            return
        del self._wanted[channel]
        waiting = self._waiting.pop(channel, None)
        if waiting is not None:
            waiting.cancel()  # nobody waits on it: each waiter counts in `_wanted`
        self._reconcile(channel)

    def _reconcile(self, channel: bytes) -> None:
        """Compare `channel` with what Redis has, in the next batch."""
        self._dirty[channel] = None
        self._send_soon()

    def _send_soon(self) -> None:
        if self._dirty and self._subscriber is None and self._connection is not None:
            self._subscriber = detached(
                self._send_subscriptions(self._connection), name="redis subscriptions"
            )

    async def _send_subscriptions(self, connection: AbstractConnection) -> None:
        """Batches of SUBSCRIBE and UNSUBSCRIBE, each once the previous one is answered, until
        what Redis has is what is wanted."""
        try:
            while self._dirty:
                batch = list(itertools.islice(self._dirty, CHANNELS_PER_COMMAND))
                for channel in batch:
                    del self._dirty[channel]
                if not self._dirty:
                    self._dirty = {}  # a dict keeps its largest size; a storm's need not stay
                confirmed, wanted = self._confirmed, self._wanted
                on = [c for c in batch if c in wanted and c not in confirmed]
                off = [c for c in batch if c not in wanted and c in confirmed]
                if not on and not off:
                    continue
                # What is given up goes first: once a subscription of the batch is confirmed,
                # Redis has handled the whole batch's UNSUBSCRIBE too.
                commands: list[list[bytes | str]] = []
                if off:
                    commands.append(["UNSUBSCRIBE", *off])
                if on:
                    commands.append(["SUBSCRIBE", *on])
                if not connection.is_connected:
                    return  # lost: the reader connects again and subscribes to every channel
                self._in_flight.update(zip(on, on, strict=True))
                self._in_flight.update(zip(off, off, strict=True))
                self._answered.clear()
                # Checked connected just above, with nothing awaited since: redis-py would
                # otherwise connect afresh, a connection without the subscriptions.
                try:
                    async with asyncio.timeout(SUBSCRIBE_TIMEOUT_SECONDS):
                        await connection.send_packed_command(
                            connection.pack_commands(commands), check_health=False
                        )
                        await self._answered.wait()
                except TimeoutError:
                    # Redis takes the commands but does not answer (a half-open link): the
                    # reader meets the end of the connection and starts again.
                    log.warning("subscriptions not answered; connecting again")
                    with contextlib.suppress(*FAILURES):
                        await connection.disconnect(nowait=True)
                    return
        except FAILURES as error:
            # Writing failed: the reader meets the same loss and starts again.
            log.warning("subscriptions not sent (%s)", type(error).__name__)
        finally:
            if self._subscriber is asyncio.current_task():
                self._subscriber = None

    async def subscribed(self) -> None:
        if self._ready.is_set():
            return
        try:
            async with asyncio.timeout(SUBSCRIBED_WAIT_SECONDS):
                await self._ready.wait()
        except TimeoutError:
            raise _unavailable() from None

    async def _listen(self) -> None:
        delay, lost = RETRY_FIRST_SECONDS, False
        while True:
            connection = self._new_connection()
            self._proven = False
            try:
                await connection.connect()  # type: ignore[no-untyped-call]
                if lost:
                    log.info("broker connected again")
                await self._hear(connection)
            except FAILURES as error:
                if not lost or self._proven:
                    log.warning(
                        "broker connection lost (%s: %s); resyncing listeners",
                        type(error).__name__,
                        error,
                    )
                lost = True
                # Notices may have been published while the link was down: every listener
                # resumes from the database.
                self._local.resync_all()
            except Exception:
                # A bug, not a lost link; the node must not stay deaf (refusing every socket)
                # for the rest of its life: it is logged, and the reader starts again.
                log.exception("broker reader failed; resyncing listeners")
                lost = True
                self._local.resync_all()
            finally:
                await self._lost()
                with contextlib.suppress(*FAILURES):
                    await connection.disconnect(nowait=True)
            if self._proven:  # this connection answered: the next try is at once again
                delay = RETRY_FIRST_SECONDS
            await self._pause(delay)
            delay = min(delay * 2, RETRY_MAX_SECONDS)

    def _new_connection(self) -> AbstractConnection:
        """A connection of the broker's own, outside its client's pool, on RESP2: there a
        notice is a plain reply, where redis-py's default RESP3 would pass each through its
        handling of push messages."""
        pool = self._redis.connection_pool
        connection: AbstractConnection = pool.connection_class(
            **{**pool.connection_kwargs, "protocol": 2}
        )
        return connection

    async def _hear(self, connection: AbstractConnection) -> None:
        """Subscribe to every channel with local listeners, and read until the link fails."""
        self._connection = connection
        self._proven = not self._wanted  # nothing to confirm: connected is proof enough
        self._dirty = dict.fromkeys(self._wanted)
        self._send_soon()
        self._ready.set()
        read = connection.read_response
        while True:
            # Blocking (math.inf): a quiet channel is no failure. Not disconnecting on an error
            # (or on being cancelled): `_lost` does, once the commands' writer has finished.
            reply = await read(disable_decoding=True, timeout=math.inf, disconnect_on_error=False)
            self._heard(reply)

    def _heard(self, reply: Any) -> None:
        kind = reply[0]
        if kind == b"message":
            self._dispatch(reply[1], reply[2])
        elif kind == b"subscribe" or kind == b"unsubscribe":
            self._confirm(reply[1], subscribed=kind == b"subscribe")

    def _confirm(self, channel: bytes, *, subscribed: bool) -> None:
        """Redis answered for `channel`: its state now, and its waiters let go once it is
        subscribed with nothing else on the way."""
        channel = self._in_flight.pop(channel, channel)
        self._proven = True
        if subscribed:
            self._confirmed.add(channel)
        else:
            self._confirmed.discard(channel)
        if not self._in_flight:
            self._in_flight = {}  # a dict keeps its largest size; a storm's need not stay
            self._answered.set()
        if subscribed:
            waiting = self._waiting.pop(channel, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)
            if not self._waiting:
                self._waiting = {}

    async def _lost(self) -> None:
        """The connection is gone: nothing is subscribed any more, and nothing is on its way."""
        self._ready.clear()
        self._connection = None
        self._confirmed.clear()
        self._in_flight.clear()
        self._answered.set()
        subscriber, self._subscriber = self._subscriber, None
        if subscriber is not None:
            subscriber.cancel()
            # Finished before the connection is closed: nothing else is written on it.
            await asyncio.wait([subscriber])

    def _dispatch(self, channel: bytes, data: bytes) -> None:
        if self._own in data:
            return  # this node's own: its listeners had the event itself
        if channel.startswith(self._desk_channels):
            desk = desk_events.decode(data)
            if desk is not None and desk[1] != self._node:
                tenant_id = channel[len(self._desk_channels) :].decode()
                self._local.deliver_desk(tenant_id, desk[0])
            return
        name = channel[len(self._conv_channels) :].decode()
        tenant_id, _, conversation_id = name.partition(":")
        decoded = decode(data)
        if decoded is not None and decoded[1] != self._node and conversation_id:
            self._local.deliver(tenant_id, conversation_id, decoded[0])

    async def flush(self) -> None:
        if self._sender is not None:
            await asyncio.shield(self._sender)

    async def aclose(self) -> None:
        await self.flush()  # what was published before closing still goes out
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for waiting in self._waiting.values():
            if not waiting.done():
                waiting.set_exception(_unavailable())
                waiting.exception()  # retrieved: a future nobody waits on any more logs none
        self._waiting.clear()
        await self._local.aclose()
        await self._redis.aclose()


class _Holding:
    """What stops a listener: off the local broker, and its channel given up if it was the
    last. A small object rather than a closure: one lives as long as each socket."""

    __slots__ = ("_broker", "_channel", "_stop")

    def __init__(self, broker: RedisBroker, channel: bytes, stop: Callable[[], None]) -> None:
        self._broker = broker
        self._channel = channel
        self._stop: Callable[[], None] | None = stop

    def __call__(self) -> None:
        stop, self._stop = self._stop, None
        if stop is not None:  # a second call does nothing
            stop()
            self._broker._release(self._channel)


def _unavailable() -> Unavailable:
    return Unavailable("Live updates are unavailable for a moment; try again shortly.")
