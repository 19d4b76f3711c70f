"""The scaled-out profile when Redis fails: stopped, restarted, or dropping the node's connections.
Real servers on loopback and a redis-server of the test's own on its own port (never the
machine's, which other tests share)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from parlour.app import create_app
from parlour.chat import redis_broker
from parlour.services import Services, build_services
from parlour.settings import RedisSettings, Settings
from tests.conftest import Stack, make_settings, new_master_key, running_stack
from tests.support import seed
from tests.support.chat import FRAME_TIMEOUT_SECONDS, authenticate, open_socket, receive, say
from tests.support.redis import OwnRedis, own_redis
from tests.support.servers import ThreadedServer, start_threaded


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[OwnRedis]:
    directory = tmp_path / "redis"
    directory.mkdir()
    with own_redis(directory) as server:
        yield server


@contextlib.asynccontextmanager
async def node_on(tmp_path: Path, sqlite_url: str, server: OwnRedis) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, sqlite_url, redis=RedisSettings(url=server.url)) as stack:
        yield stack


async def closing(ws: ClientConnection) -> tuple[int | None, str]:
    """Read until the server closes; the code and reason of its close frame (None: no frame,
    the socket was dropped)."""
    try:
        while True:
            await receive(ws)
    except ConnectionClosed as closed:
        return (closed.rcvd.code, closed.rcvd.reason) if closed.rcvd else (None, "")


async def test_t25_while_redis_is_down_a_handshake_gets_503_in_the_error_shape(
    tmp_path: Path, sqlite_url: str, redis_server: OwnRedis
) -> None:
    """T-25: the policy is to refuse (503, `unavailable`) rather than admit on local limits:
    without Redis neither the shared caps nor single use of tokens (T-15) can be checked. Once
    Redis is back, the same node admits sockets again."""
    async with node_on(tmp_path, sqlite_url, redis_server) as stack:
        org = await seed.organisation(stack.services)
        token = await seed.token_for(stack.services, org)
        redis_server.stop()
        with pytest.raises(InvalidStatus) as refused:
            async with open_socket(stack.ws_url, org.widget_id, org.origin):
                pass
        assert refused.value.response.status_code == 503
        assert json.loads(refused.value.response.body)["error"]["code"] == "unavailable"
        redis_server.start()
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, token)


async def test_a_socket_open_when_redis_goes_down_is_closed_with_1013_and_a_reason(
    tmp_path: Path, sqlite_url: str, redis_server: OwnRedis
) -> None:
    """Never dropped without a close frame: 1013 tells the client to come back and resume."""
    async with node_on(tmp_path, sqlite_url, redis_server) as stack:
        org = await seed.organisation(stack.services, faq=None)
        await seed.with_a_person(stack.services, org)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org), last_seq=1)
            redis_server.stop()
            with contextlib.suppress(ConnectionClosed):
                await say(ws, "Is anyone there?")
            code, reason = await closing(ws)
        assert code == 1013
        assert "resume" in reason or "try again" in reason


async def test_a_message_after_redis_dropped_the_nodes_connections_is_accepted(
    tmp_path: Path, sqlite_url: str, redis_server: OwnRedis
) -> None:
    """As after a restart, every connection the node had pooled is dead; the next message's
    rate check retries once on a fresh connection, and the socket carries on."""
    async with node_on(tmp_path, sqlite_url, redis_server) as stack:
        org = await seed.organisation(stack.services, faq=None)
        await seed.with_a_person(stack.services, org)
        admin = Redis.from_url(redis_server.url)
        try:
            async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
                await authenticate(ws, await seed.token_for(stack.services, org), last_seq=1)
                await say(ws, "first")
                assert (await receive(ws))["type"] == "accepted"
                # Every client but the broker's subscription, which stays up.
                await admin.client_kill_filter(_type="normal", skipme=True)
                await say(ws, "second")
                answer = await receive(ws)
        finally:
            await admin.aclose()
        assert answer["type"] == "accepted"
        assert answer["seq"] == 3


@contextlib.asynccontextmanager
async def two_nodes(
    tmp_path: Path, sqlite_url: str, server: OwnRedis
) -> AsyncIterator[tuple[ThreadedServer, ThreadedServer, Services]]:
    """Two nodes behind one public name, on one database and one Redis, and services beside
    them for seeding."""
    settings = make_settings(
        tmp_path,
        database_url=sqlite_url,
        public_url="http://127.0.0.1",
        master_key=new_master_key(),
        redis=RedisSettings(url=server.url),
    )

    def node(_url: str) -> tuple[FastAPI, Settings]:
        return create_app(settings), settings

    a = start_threaded(node)
    b = start_threaded(node)
    seeding = build_services(settings)
    try:
        yield a, b, seeding
    finally:
        await seeding.aclose()
        a.stop()
        b.stop()


async def test_notices_sent_while_a_node_subscribes_again_reach_the_sockets_it_let_in(
    tmp_path: Path, sqlite_url: str, redis_server: OwnRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis restarts. A client of node B comes straight back to B, which is still subscribing
    again (here for up to two seconds); a message is then sent through node A. B lets the
    client in only once it hears A's notices again, so the message arrives at once, not with
    the next one."""
    monkeypatch.setattr(redis_broker, "RETRY_FIRST_SECONDS", 2.0)
    monkeypatch.setattr(redis_broker, "RETRY_MAX_SECONDS", 2.0)
    async with two_nodes(tmp_path, sqlite_url, redis_server) as (a, b, services):
        org = await seed.organisation(services, faq=None)
        await seed.with_a_person(services, org)
        async with open_socket(b.ws_url, org.widget_id, org.origin) as laptop:
            await authenticate(laptop, await seed.token_for(services, org), last_seq=1)
            redis_server.stop()
            assert (await closing(laptop))[0] == 1013
        redis_server.start()
        async with open_socket(b.ws_url, org.widget_id, org.origin) as laptop:
            await authenticate(laptop, await seed.token_for(services, org), last_seq=1)
            async with open_socket(a.ws_url, org.widget_id, org.origin) as phone:
                await authenticate(phone, await seed.token_for(services, org), last_seq=1)
                await say(phone, "Are you there?")
                arrived = await receive(laptop, timeout=FRAME_TIMEOUT_SECONDS)
        assert (arrived["type"], arrived["seq"]) == ("message", 2)
        assert arrived["text"] == "Are you there?"
