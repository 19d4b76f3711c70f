"""The gateway under bursts, on the scaled-out profile's shared state: a real server on loopback,
thousands of real sockets, and a redis-server of the test's own (so that it can watch the
connection leases through keyspace notifications)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection

from parlour.settings import RedisSettings
from tests.conftest import running_stack
from tests.support import seed
from tests.support.chat import authenticate, open_socket, receive, receive_until
from tests.support.redis import key_changes, own_redis

USERS = 1000
SOCKETS_PER_USER = 2
SOCKETS = USERS * SOCKETS_PER_USER
OPENING_AT_ONCE = 100
T = TypeVar("T")


async def bounded(jobs: list[Callable[[], Awaitable[T]]], at_once: int) -> list[T]:
    gate = asyncio.Semaphore(at_once)

    async def run(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return list(await asyncio.gather(*(run(job) for job in jobs)))


@pytest.mark.timeout(600)
async def test_t25_1000_messages_at_once_and_2000_sockets_dropped_lose_nothing_and_leak_no_lease(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-25: 2,000 sockets (two for each of 1,000 customers) on one node whose Redis pool is
    small on purpose (8 connections): calls wait for a connection rather than fail. 1,000
    messages sent at once are all accepted, stored once and delivered to the sender's other
    socket. Then all 2,000 sockets drop at once, without a close handshake: every connection
    lease is released (nothing counts against the caps afterwards), and new sockets are
    admitted under caps sized to exactly 2,000."""
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    with own_redis(redis_dir) as server:
        async with running_stack(
            tmp_path,
            sqlite_url,
            redis=RedisSettings(url=server.url, key_prefix="load", max_connections=8),
            gateway={
                "handshakes_per_ip": "100000/minute",
                "max_connections_per_ip": SOCKETS,
                "max_connections_per_tenant": SOCKETS,
            },
        ) as stack:
            org = await seed.organisation(stack.services, faq=None)
            users = [f"customer-{n}" for n in range(USERS)]
            for user in users:
                # With a person asked for (seq 1), the assistant stays silent: counts are exact.
                await seed.with_a_person(stack.services, org, user)

            async def opened(user: str) -> ClientConnection:
                ws = await open_socket(stack.ws_url, org.widget_id, org.origin)
                await authenticate(ws, await seed.token_for(stack.services, org, user), last_seq=1)
                return ws

            sockets = await bounded(
                [lambda u=u: opened(u) for u in users for _ in range(SOCKETS_PER_USER)],
                OPENING_AT_ONCE,
            )
            senders, watchers = sockets[0::2], sockets[1::2]
            texts = [f"burst message {n}" for n in range(USERS)]

            async def send(ws: ClientConnection, text: str) -> dict[str, object]:
                client_id = str(uuid.uuid4())
                await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": text}))
                return await receive(ws, timeout=120)

            answers = await asyncio.gather(
                *(send(ws, text) for ws, text in zip(senders, texts, strict=True))
            )
            echoes = await asyncio.gather(
                *(
                    receive_until(ws, lambda f: f.get("type") == "message", timeout=120)
                    for ws in watchers
                )
            )
            assert [a["type"] for a in answers] == ["accepted"] * USERS
            assert [a["seq"] for a in answers] == [2] * USERS
            assert [e[-1]["text"] for e in echoes] == texts
            for user, text in zip(users, texts, strict=True):
                conversation = await stack.services.chat.open_conversation(org.tenant_id, user)
                stored = await stack.services.chat.history(
                    org.tenant_id, conversation.conversation_id, after_seq=1, limit=10
                )
                assert [m.body for m in stored] == [text]

            admin = Redis.from_url(server.url)
            leases = "load:conns:*"
            ip_leases = "load:conns:ip:127.0.0.1"
            assert await admin.zcard(ip_leases) == SOCKETS
            async with key_changes(server, leases) as changes:
                for ws in sockets:
                    ws.transport.abort()  # gone at once, as when a network drops

                async def all_released() -> bool:
                    return not [key async for key in admin.scan_iter(match=leases)]

                await changes.until(all_released, timeout=120)
            await admin.aclose()

            again = await bounded([lambda u=u: opened(u) for u in users[:10]], 10)
            for ws in again:
                await ws.close()
