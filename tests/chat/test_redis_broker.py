"""What crosses between nodes for the customer's side of the desk (a member's typing with their
display name, and read positions, never message content), and what a node subscribes to: a
conversation's or an organisation's desk channel only while it holds a listener of it, each
subscription confirmed before `listen` returns."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis import Redis as SyncRedis
from redis.asyncio import Redis

from parlour.chat import desk_events, redis_broker
from parlour.chat.desk_events import DeskEvent, DeskTyping, MessageNoted
from parlour.chat.models import (
    Author,
    ConversationEvent,
    MessageStored,
    ReadUpTo,
    Resync,
    TypingChanged,
)
from parlour.chat.redis_broker import RedisBroker, decode, encode, node_mark
from parlour.errors import Unavailable
from parlour.settings import RedisSettings
from parlour.shared_redis import broker_client
from tests.support.redis import own_redis, redis_url

WAIT = 5.0


def test_typing_with_a_name_and_read_positions_cross_nodes_intact() -> None:
    for event in (
        TypingChanged(Author.AGENT, True, "Ada L"),
        TypingChanged(Author.ASSISTANT, False),
        ReadUpTo(Author.AGENT, 7),
        ReadUpTo(Author.USER, 3),
    ):
        notice = encode(event, "node-a")
        assert notice is not None
        assert decode(notice) == (event, "node-a")


def test_a_nodes_own_notices_are_known_by_its_mark_and_no_others_are() -> None:
    """A node skips its own notices without decoding them; a display name that spells
    another node's field out cannot pass for it (its quotes are escaped)."""
    events: list[ConversationEvent | DeskEvent] = [
        MessageStored(3),
        TypingChanged(Author.AGENT, True, 'Ada "n": "node-a"'),
        ReadUpTo(Author.USER, 3),
        MessageNoted("c1", 5, "user"),
        DeskTyping("c1", "agent", True, "acc-1"),
    ]
    for event in events:
        for sender in ("node-a", "node-b"):
            if isinstance(event, MessageStored | TypingChanged | ReadUpTo):
                notice = encode(event, sender)
            else:
                notice = desk_events.encode(event, sender)
            assert notice is not None
            assert (node_mark("node-a") in notice.encode()) is (sender == "node-a")


@contextlib.asynccontextmanager
async def node(url: str, prefix: str) -> AsyncIterator[RedisBroker]:
    """One node's broker, on the client a serving node gives it."""
    broker = RedisBroker(broker_client(RedisSettings(url=url)), prefix=prefix)
    await broker.start()
    try:
        yield broker
    finally:
        await broker.aclose()


@contextlib.asynccontextmanager
async def admin(url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(url)
    try:
        yield client
    finally:
        await client.aclose()


async def channels(redis: Redis, prefix: str) -> set[str]:
    """Every channel someone is subscribed to under the test's prefix."""
    return {name.decode() for name in await redis.pubsub_channels(f"{prefix}:*")}


async def subscribers(redis: Redis, channel: str) -> int:
    [(_, count)] = await redis.pubsub_numsub(channel)
    return int(count)


async def next_of(queue: asyncio.Queue[ConversationEvent]) -> ConversationEvent:
    async with asyncio.timeout(WAIT):
        return await queue.get()


@pytest.mark.redis
async def test_a_node_subscribes_only_to_what_its_own_listeners_hear(redis_prefix: str) -> None:
    """A node with no listener of a conversation is not subscribed to it, so Redis hands it
    none of its notices; the node with one is, to that conversation's and organisation's
    desk channels and no others."""
    async with (
        node(redis_url(), redis_prefix) as a,
        node(redis_url(), redis_prefix) as b,
        admin(redis_url()) as redis,
    ):
        assert await channels(redis, redis_prefix) == set()
        heard: asyncio.Queue[ConversationEvent] = asyncio.Queue()
        desk: list[DeskEvent | Resync] = []
        stop = await b.listen("t1", "c1", heard.put_nowait)
        stop_desk = await b.listen_desk("t1", desk.append)
        try:
            assert await channels(redis, redis_prefix) == {
                f"{redis_prefix}:conv:t1:c1",
                f"{redis_prefix}:desk:t1",
            }
            assert await subscribers(redis, f"{redis_prefix}:conv:t1:c1") == 1  # b only
            await a.publish("t1", "c2", MessageStored(1))  # no node listens: nobody hears it
            await a.publish("t1", "c1", MessageStored(2))
            assert await next_of(heard) == MessageStored(2)
        finally:
            stop()
            stop_desk()


@pytest.mark.redis
async def test_a_node_unsubscribes_once_the_last_listener_of_a_channel_stops(
    redis_prefix: str,
) -> None:
    async with node(redis_url(), redis_prefix) as b, admin(redis_url()) as redis:
        channel = f"{redis_prefix}:conv:t1:c1"
        first = await b.listen("t1", "c1", lambda _: None)
        second = await b.listen("t1", "c1", lambda _: None)
        stop_desk = await b.listen_desk("t1", lambda _: None)
        first()
        # One connection answers in order: a later subscription's confirmation comes after
        # Redis has handled whatever the node sent before it.
        later = await b.listen("t1", "barrier-1", lambda _: None)
        assert await subscribers(redis, channel) == 1  # the second listener holds it
        second()
        stop_desk()
        later()
        last = await b.listen("t1", "barrier-2", lambda _: None)
        assert await channels(redis, redis_prefix) == {f"{redis_prefix}:conv:t1:barrier-2"}
        last()


# Another node, as a process of its own (in step with nothing here): it stores message after
# message in every conversation named (one sequence for all) and publishes each one's notice;
# the count of what it stored and the notices go together, in one script.
OTHER_NODE = """
import sys
from redis import Redis
url, stored, *channels = sys.argv[1:]
store_and_publish = (
    "local seq = redis.call('INCR', KEYS[1]) "
    "for _, channel in ipairs(ARGV) do "
    "redis.call('PUBLISH', channel, "
    "'{\\"t\\": \\"stored\\", \\"seq\\": ' .. seq .. ', \\"n\\": \\"a\\"}') "
    "end"
)
with Redis.from_url(url) as redis:
    publish = redis.register_script(store_and_publish)
    while True:
        publish(keys=[stored], args=channels)
"""


@contextlib.contextmanager
def other_node(stored: str, channels: list[str]) -> Iterator[None]:
    process = subprocess.Popen([sys.executable, "-c", OTHER_NODE, redis_url(), stored, *channels])
    try:
        yield
    finally:
        process.kill()
        process.wait(WAIT)


@pytest.mark.redis
async def test_a_listener_hears_every_notice_published_on_another_node_after_listen_returns(
    redis_prefix: str,
) -> None:
    """No gap: a socket reads its history once `listen` returns; whatever another node stores
    after that, it hears of. Here while the other node stores and publishes without pause."""
    stored = f"{redis_prefix}:stored"
    conversations = [f"c{n}" for n in range(30)]
    channels = [f"{redis_prefix}:conv:t1:{c}" for c in ["started", *conversations]]
    async with node(redis_url(), redis_prefix) as b:
        with other_node(stored, channels), SyncRedis.from_url(redis_url()) as db:
            started: asyncio.Queue[ConversationEvent] = asyncio.Queue()
            await b.listen("t1", "started", started.put_nowait)
            await next_of(started)
            for conversation in conversations:
                heard: asyncio.Queue[ConversationEvent] = asyncio.Queue()
                stop = await b.listen("t1", conversation, heard.put_nowait)
                # What the socket's history holds, read at once: nothing else this node does
                # gets a turn in between.
                history = int(db.get(stored) or 0)
                try:
                    first_new = await next_of(heard)
                    while getattr(first_new, "seq", 0) <= history:
                        first_new = await next_of(heard)
                finally:
                    stop()
                assert first_new == MessageStored(history + 1)


@pytest.mark.redis
async def test_a_listener_that_comes_while_its_channel_is_being_given_up_ends_subscribed(
    redis_prefix: str,
) -> None:
    async with (
        node(redis_url(), redis_prefix) as a,
        node(redis_url(), redis_prefix) as b,
        admin(redis_url()) as redis,
    ):
        channel = f"{redis_prefix}:conv:t1:c1"
        stop = await b.listen("t1", "c1", lambda _: None)
        stop()
        # Not a wait for time: exactly one turn of the loop, in which the node writes its
        # UNSUBSCRIBE; Redis's answer needs more turns, so the interleaving under test holds
        # (checked next). Waiting for a condition instead could pass it.
        await asyncio.sleep(0)
        assert channel.encode() in b._in_flight  # the case under test: Redis has not answered
        heard: asyncio.Queue[ConversationEvent] = asyncio.Queue()
        again = await b.listen("t1", "c1", heard.put_nowait)
        try:
            assert await subscribers(redis, channel) == 1
            await a.publish("t1", "c1", MessageStored(1))
            assert await next_of(heard) == MessageStored(1)
        finally:
            again()


@pytest.mark.redis
async def test_a_thousand_listeners_at_once_are_confirmed_with_one_command(
    tmp_path: Path,
) -> None:
    """A reconnect storm: many sockets' subscriptions go out together, not one round trip
    each in a row. (A server of the test's own: its command counts are this test's alone.)"""
    with own_redis(tmp_path) as server:
        async with node(server.url, "storm") as b, admin(server.url) as redis:
            stops = await asyncio.gather(
                *(b.listen("t1", f"c{n}", lambda _: None) for n in range(1000))
            )
            assert len(await channels(redis, "storm")) == 1000
            stats = await redis.info("commandstats")
            assert stats["cmdstat_subscribe"]["calls"] == 1
            for stop in stops:
                stop()
            await b.listen("t1", "barrier", lambda _: None)
            stats = await redis.info("commandstats")
            assert stats["cmdstat_unsubscribe"]["calls"] == 1
            assert await channels(redis, "storm") == {"storm:conv:t1:barrier"}


@pytest.mark.redis
async def test_after_redis_restarts_listeners_resync_and_the_node_hears_their_channels_again(
    tmp_path: Path,
) -> None:
    """Every listener is told it may have missed notices; once Redis is back, the node is
    subscribed again to exactly the channels that still have listeners."""
    with own_redis(tmp_path) as server:
        async with node(server.url, "p") as b:
            heard: asyncio.Queue[ConversationEvent] = asyncio.Queue()
            desk: asyncio.Queue[DeskEvent | Resync] = asyncio.Queue()
            gone: asyncio.Queue[ConversationEvent] = asyncio.Queue()
            stops = [
                await b.listen("t1", "c1", heard.put_nowait),
                await b.listen_desk("t1", desk.put_nowait),
            ]
            stop_gone = await b.listen("t1", "c2", gone.put_nowait)
            server.stop()
            async with asyncio.timeout(WAIT):
                assert await heard.get() == Resync()
                assert await desk.get() == Resync()
                assert await gone.get() == Resync()
            stop_gone()  # its socket closed; the node should not subscribe again for it
            server.start()
            await b.subscribed()
            await b.listen("t1", "barrier", lambda _: None)
            async with node(server.url, "p") as a, admin(server.url) as redis:
                assert await channels(redis, "p") == {
                    "p:conv:t1:c1",
                    "p:desk:t1",
                    "p:conv:t1:barrier",
                }
                await a.publish("t1", "c1", MessageStored(5))
                await a.publish_desk("t1", MessageNoted("c1", 5, "user"))
                assert await next_of(heard) == MessageStored(5)
                async with asyncio.timeout(WAIT):
                    assert await desk.get() == MessageNoted("c1", 5, "user")
            for stop in stops:
                stop()


@pytest.mark.redis
async def test_a_listener_whose_subscription_is_not_confirmed_in_time_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis hangs: `listen` raises `Unavailable` (the socket closes with 1013) and leaves
    nothing behind: once Redis answers again, the channel is given up."""
    monkeypatch.setattr(redis_broker, "SUBSCRIBED_WAIT_SECONDS", 0.3)
    with own_redis(tmp_path) as server:
        async with node(server.url, "p") as b, admin(server.url) as redis:
            heard: list[ConversationEvent] = []
            server.pause()
            try:
                with pytest.raises(Unavailable):
                    await b.listen("t1", "c1", heard.append)
            finally:
                server.resume()
            monkeypatch.setattr(redis_broker, "SUBSCRIBED_WAIT_SECONDS", WAIT)
            await b.listen("t1", "barrier", heard.append)
            assert await channels(redis, "p") == {"p:conv:t1:barrier"}


@pytest.mark.redis
async def test_a_redis_that_refuses_a_subscription_is_tried_again_after_growing_pauses(
    tmp_path: Path,
) -> None:
    """An error reply (here an ACL that refuses the channel) ends the connection as a loss
    does, but a connection that never answered a subscription proves nothing: the node tries
    again after pauses that grow, not at once, again and again, each time resyncing every
    socket it holds."""
    with own_redis(tmp_path) as server:
        async with admin(server.url) as redis:
            await redis.execute_command(
                "ACL",
                "SETUSER",
                "node",
                "on",
                ">pw",
                "~*",
                "+@all",
                "resetchannels",
                "&p:conv:t1:*",
            )
        pauses: list[float] = []
        enough = asyncio.Event()

        async def pause(seconds: float) -> None:
            pauses.append(seconds)
            if len(pauses) >= 5:
                enough.set()

        url = f"redis://node:pw@127.0.0.1:{server.port}/0"
        b = RedisBroker(broker_client(RedisSettings(url=url)), prefix="p", pause=pause)
        await b.start()
        try:
            refused = asyncio.create_task(b.listen("t2", "c1", lambda _: None))
            async with asyncio.timeout(WAIT):
                await enough.wait()
            refused.cancel()
            with contextlib.suppress(asyncio.CancelledError, Unavailable):
                await refused
        finally:
            await b.aclose()
        assert pauses[:5] == [0.05, 0.1, 0.2, 0.4, 0.8]


@pytest.mark.redis
async def test_a_redis_that_stops_answering_is_left_and_its_listeners_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis takes the bytes but answers nothing (a half-open link, here a paused server): the
    subscriptions' command goes unanswered past its bound, the node drops the connection, every
    listener is told to resync, and sockets are refused until Redis answers again."""
    monkeypatch.setattr(redis_broker, "SUBSCRIBE_TIMEOUT_SECONDS", 0.5)
    monkeypatch.setattr(redis_broker, "SUBSCRIBED_WAIT_SECONDS", 1.0)
    with own_redis(tmp_path) as server:
        async with node(server.url, "p") as b:
            heard: asyncio.Queue[ConversationEvent] = asyncio.Queue()
            stop = await b.listen("t1", "c1", heard.put_nowait)
            server.pause()
            try:
                with pytest.raises(Unavailable):
                    await b.listen("t1", "c2", lambda _: None)
                async with asyncio.timeout(WAIT):
                    assert await heard.get() == Resync()
                with pytest.raises(Unavailable):
                    await b.subscribed()
            finally:
                server.resume()
            monkeypatch.setattr(redis_broker, "SUBSCRIBED_WAIT_SECONDS", WAIT)
            await b.subscribed()
            again = await b.listen("t1", "c3", lambda _: None)
            again()
            stop()
