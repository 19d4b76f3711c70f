"""What nodes share, on the embedded profile (one process) and on Redis (two nodes): fan-out,
connection caps and rate limits behave the same. (Token replay: tests/keys/test_replay.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from parlour.chat.desk_events import (
    ConversationChanged,
    DeskEvent,
    DeskRead,
    DeskTyping,
    MessageNoted,
    NoteAdded,
    PresenceChanged,
)
from parlour.chat.limits import Cap, RedisConnectionCaps, TooManyConnections
from parlour.chat.models import (
    Author,
    Message,
    MessageAdded,
    MessageKind,
    MessageStored,
    Resync,
    TypingChanged,
)
from parlour.services import _realtime
from parlour.settings import RedisSettings, Settings
from parlour.storage.database import Database
from tests.support.chat import listening
from tests.support.redis import reachable_prefix, redis_url

WAIT = 5.0


@dataclass
class Nodes:
    a: object
    b: object
    prefix: str | None


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def nodes(request: pytest.FixtureRequest) -> AsyncIterator[Nodes]:
    """Two nodes' shared parts: the same objects in one process, or two sets over Redis."""
    if request.param == "memory":
        db = Database("sqlite+aiosqlite:///:memory:")
        node = _realtime(Settings(), db)
        yield Nodes(node, node, None)
        await node.broker.aclose()
        await db.dispose()
        return
    async for prefix in reachable_prefix():
        settings = Settings(redis=RedisSettings(url=redis_url(), key_prefix=prefix))
        db = Database("sqlite+aiosqlite:///:memory:")
        a, b = _realtime(settings, db), _realtime(settings, db)
        for node in (a, b):
            await node.broker.start()
        try:
            yield Nodes(a, b, prefix)
        finally:
            for node in (a, b):
                await node.broker.aclose()
                if node.redis is not None:
                    await node.redis.aclose()
            await db.dispose()


def stored_message(tenant_id: str, conversation_id: str, seq: int) -> Message:
    return Message(
        tenant_id=tenant_id,
        conversation_id=conversation_id,
        seq=seq,
        message_id=str(uuid.uuid4()),
        kind=MessageKind.TEXT,
        author=Author.USER,
        body="secret body that must not cross the broker",
        created_at=datetime.now(UTC),
    )


async def test_an_event_published_on_one_node_reaches_subscribers_on_another(nodes: Nodes) -> None:
    async with listening(nodes.b.broker, "t1", "c1") as subscriber:  # type: ignore[attr-defined]
        await nodes.a.broker.publish("t1", "c1", MessageAdded(stored_message("t1", "c1", 7)))  # type: ignore[attr-defined]
        await nodes.a.broker.publish("t1", "c1", TypingChanged(Author.AGENT, True))  # type: ignore[attr-defined]
        async with asyncio.timeout(WAIT):
            first, second = await subscriber.get(), await subscriber.get()
    seq = first.message.seq if isinstance(first, MessageAdded) else first.seq  # type: ignore[union-attr]
    assert seq == 7
    assert second == TypingChanged(Author.AGENT, True)
    if nodes.prefix:
        assert first == MessageStored(7)  # only the notice crossed Redis, not the body


async def test_the_publishing_nodes_own_subscribers_get_each_event_once_with_its_content(
    nodes: Nodes,
) -> None:
    message = stored_message("t1", "c1", 7)
    async with listening(nodes.a.broker, "t1", "c1") as own:  # type: ignore[attr-defined]
        await nodes.a.broker.publish("t1", "c1", MessageAdded(message))  # type: ignore[attr-defined]
        await nodes.a.broker.publish("t1", "c1", TypingChanged(Author.AGENT, True))  # type: ignore[attr-defined]
        await nodes.a.broker.flush()  # type: ignore[attr-defined]
        # Published after node a's events reached Redis, so it arrives after any echo of them.
        await nodes.b.broker.publish("t1", "c1", TypingChanged(Author.AGENT, False))  # type: ignore[attr-defined]
        seen = []
        async with asyncio.timeout(WAIT):
            while TypingChanged(Author.AGENT, False) not in seen:
                seen.append(await own.get())
    assert seen == [
        MessageAdded(message),
        TypingChanged(Author.AGENT, True),
        TypingChanged(Author.AGENT, False),
    ]


async def test_a_burst_of_events_reaches_another_node_complete_and_in_order(
    nodes: Nodes,
) -> None:
    """Notices queued while others are on their way go out together, in the order published."""
    async with listening(nodes.b.broker, "t1", "c1") as subscriber:  # type: ignore[attr-defined]
        await asyncio.gather(
            *(
                nodes.a.broker.publish("t1", "c1", MessageStored(seq))  # type: ignore[attr-defined]
                for seq in range(1, 1001)
            )
        )
        async with asyncio.timeout(WAIT):
            seen = [await subscriber.get() for _ in range(1000)]
    assert [getattr(event, "seq", None) for event in seen] == list(range(1, 1001))


async def test_events_never_reach_another_tenants_subscriber(nodes: Nodes) -> None:
    """T-34: channels are named by tenant and conversation; the same conversation id under
    another tenant is another channel."""
    async with (
        listening(nodes.b.broker, "tenant-b", "c1") as other_tenant,  # type: ignore[attr-defined]
        listening(nodes.b.broker, "tenant-a", "c1") as own,  # type: ignore[attr-defined]
    ):
        await nodes.a.broker.publish("tenant-a", "c1", MessageStored(1))  # type: ignore[attr-defined]
        await nodes.a.broker.publish("tenant-b", "c1", MessageStored(99))  # type: ignore[attr-defined]
        async with asyncio.timeout(WAIT):
            assert await other_tenant.get() == MessageStored(99)
            first_own = await own.get()
    assert getattr(first_own, "seq", None) == 1 or first_own.message.seq == 1  # type: ignore[union-attr]


DESK_EVENTS: list[DeskEvent] = [
    ConversationChanged("c1", "customer-1", "queued", None, 3, created=True),
    ConversationChanged("c1", "customer-1", "snoozed", "acc-1", 4, "2026-05-04T10:00:00Z"),
    MessageNoted("c1", 5, "user"),
    DeskTyping("c1", "agent", True, "acc-1"),
    DeskTyping("c1", "user", False),
    DeskRead("c1", "acc-1", 5),
    PresenceChanged("acc-1", "away"),
    NoteAdded("c1", "note-1"),
]


async def test_every_kind_of_desk_event_reaches_the_organisations_listeners_on_another_node(
    nodes: Nodes,
) -> None:
    seen: asyncio.Queue[DeskEvent | Resync] = asyncio.Queue()
    stop = await nodes.b.broker.listen_desk("t1", seen.put_nowait)  # type: ignore[attr-defined]
    try:
        for event in DESK_EVENTS:
            await nodes.a.broker.publish_desk("t1", event)  # type: ignore[attr-defined]
        async with asyncio.timeout(WAIT):
            arrived = [await seen.get() for _ in DESK_EVENTS]
    finally:
        stop()
    assert arrived == DESK_EVENTS


async def test_t98_desk_events_never_reach_another_organisations_listeners(nodes: Nodes) -> None:
    """T-98 (the feed): a desk channel per organisation, on both brokers; the publishing node's
    own listeners get each event once."""
    other: asyncio.Queue[DeskEvent | Resync] = asyncio.Queue()
    own_b: asyncio.Queue[DeskEvent | Resync] = asyncio.Queue()
    own_a: asyncio.Queue[DeskEvent | Resync] = asyncio.Queue()
    stops = [
        await nodes.b.broker.listen_desk("tenant-b", other.put_nowait),  # type: ignore[attr-defined]
        await nodes.b.broker.listen_desk("tenant-a", own_b.put_nowait),  # type: ignore[attr-defined]
        await nodes.a.broker.listen_desk("tenant-a", own_a.put_nowait),  # type: ignore[attr-defined]
    ]
    try:
        await nodes.a.broker.publish_desk("tenant-a", MessageNoted("c1", 1, "user"))  # type: ignore[attr-defined]
        await nodes.a.broker.publish_desk("tenant-b", MessageNoted("c9", 9, "user"))  # type: ignore[attr-defined]
        async with asyncio.timeout(WAIT):
            assert await other.get() == MessageNoted("c9", 9, "user")
            assert await own_b.get() == MessageNoted("c1", 1, "user")
            assert await own_a.get() == MessageNoted("c1", 1, "user")
        # Whatever else was coming has come: one more round trip through the other node.
        await nodes.b.broker.publish_desk("tenant-a", NoteAdded("c1", "end"))  # type: ignore[attr-defined]
        async with asyncio.timeout(WAIT):
            assert await own_a.get() == NoteAdded("c1", "end")
            assert await own_b.get() == NoteAdded("c1", "end")
    finally:
        for stop in stops:
            stop()
    assert other.empty()
    assert own_a.empty()
    assert own_b.empty()


async def test_connection_caps_count_across_nodes(nodes: Nodes) -> None:
    """T-25: a cap of two holds across both nodes; a closed connection frees its place."""
    cap = [Cap(("user", "t", str(uuid.uuid4())), 2)]
    async with contextlib.AsyncExitStack() as held:
        await held.enter_async_context(nodes.a.caps.hold(cap))  # type: ignore[attr-defined]
        await held.enter_async_context(nodes.b.caps.hold(cap))  # type: ignore[attr-defined]
        with pytest.raises(TooManyConnections):
            async with nodes.a.caps.hold(cap):  # type: ignore[attr-defined]
                pass
    async with nodes.b.caps.hold(cap):  # type: ignore[attr-defined]
        pass


async def test_rate_limits_count_across_nodes(nodes: Nodes) -> None:
    user = str(uuid.uuid4())
    allowed = [
        await node.rate_limits.allow("handshake", user)  # type: ignore[attr-defined]
        for node in (nodes.a, nodes.b) * 61
    ]
    assert allowed.count(True) == 120  # handshakes_per_ip: 120/minute, shared


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.mark.redis
async def test_a_crashed_nodes_connections_lapse_with_their_lease() -> None:
    """T-25: counts cannot be stuck by a node that died holding connections."""
    from redis.asyncio import Redis

    async for prefix in reachable_prefix():
        clock = FakeClock()
        redis = Redis.from_url(redis_url())
        try:
            crashed = RedisConnectionCaps(redis, prefix=prefix, lease_seconds=60, clock=clock)
            alive = RedisConnectionCaps(redis, prefix=prefix, lease_seconds=60, clock=clock)
            cap = [Cap(("ip", "198.51.100.1"), 1)]
            holding = crashed.hold(cap)
            await holding.__aenter__()  # and never leaves: its node died
            with pytest.raises(TooManyConnections):
                async with alive.hold(cap):
                    pass
            clock.now += 61  # the lease was not renewed
            async with alive.hold(cap):
                pass
        finally:
            await redis.aclose()


async def test_message_rates_are_shared_across_nodes_and_frame_rates_stay_on_theirs(
    nodes: Nodes,
) -> None:
    """T-25: a user's message budget is one budget whichever node their sockets are on; a
    connection's frame budget is counted where the connection is (it lives on one node)."""
    a, b = nodes.a.rate_limits, nodes.b.rate_limits  # type: ignore[attr-defined]
    user, connection = f"user-{uuid.uuid4()}", f"conn-{uuid.uuid4()}"
    for _ in range(30):
        assert await a.allow("message", "tenant", user)
    assert not await b.allow("message", "tenant", user)
    for _ in range(20):
        assert await a.allow("frame", connection)
    assert not await a.allow("frame", connection)
    separate_nodes = nodes.prefix is not None
    assert await b.allow("frame", connection) is separate_nodes
