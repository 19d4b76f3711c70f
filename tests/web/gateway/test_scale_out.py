"""Two real nodes (`parlour serve` processes) on PostgreSQL and Redis: any node serves any
conversation, and a client moving between nodes loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from parlour.client import ChatClient, ClientClosed, Frame
from parlour.services import Services, build_services
from parlour.settings import RedisSettings
from tests.conftest import make_settings, new_master_key
from tests.support import seed
from tests.support.chat import (
    authenticate,
    is_assistant_message,
    open_socket,
    receive,
    receive_until,
    say,
)
from tests.support.redis import redis_url
from tests.support.servers import ServeProcess, free_socket

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@dataclass
class Cluster:
    a: ServeProcess
    b: ServeProcess
    services: Services  # an operator's view of the same database, keys and Redis


def free_port() -> int:
    sock = free_socket()
    try:
        return int(sock.getsockname()[1])
    finally:
        sock.close()


@contextlib.asynccontextmanager
async def cluster(
    tmp_path: Path, postgres_url: str, prefix: str, **extra_env: str
) -> AsyncIterator[Cluster]:
    master_key = new_master_key()
    public_url = "http://127.0.0.1"  # both nodes sit behind one public name
    env = {
        "PARLOUR_ENVIRONMENT": "test",
        "PARLOUR_DATA_DIR": str(tmp_path),
        "PARLOUR_DATABASE__URL": postgres_url,
        "PARLOUR_SERVER__PUBLIC_URL": public_url,
        "PARLOUR_CRYPTO__MASTER_KEY": master_key,
        "PARLOUR_REDIS__URL": redis_url(),
        "PARLOUR_REDIS__KEY_PREFIX": prefix,
        **extra_env,
    }
    settings = make_settings(
        tmp_path, database_url=postgres_url, public_url=public_url, master_key=master_key
    ).model_copy(update={"redis": RedisSettings(url=redis_url(), key_prefix=prefix)})
    services = build_services(settings)
    nodes = [ServeProcess(env, free_port()), ServeProcess(env, free_port())]
    try:
        for node in nodes:
            node.wait_ready()
        yield Cluster(nodes[0], nodes[1], services)
    finally:
        for node in nodes:
            node.stop()
        await services.aclose()


async def test_a_message_sent_on_one_node_reaches_a_socket_on_the_other(
    tmp_path: Path, postgres_url: str, redis_prefix: str
) -> None:
    async with cluster(tmp_path, postgres_url, redis_prefix) as nodes:
        org = await seed.organisation(nodes.services)
        async with (
            open_socket(nodes.a.ws_url, org.widget_id, org.origin) as phone,
            open_socket(nodes.b.ws_url, org.widget_id, org.origin) as laptop,
        ):
            await authenticate(phone, await seed.token_for(nodes.services, org))
            await authenticate(laptop, await seed.token_for(nodes.services, org))
            await say(phone, "What are your opening hours?")
            on_b = await receive_until(laptop, is_assistant_message, timeout=10)
        assert [f["seq"] for f in on_b if f["type"] == "message"] == [1, 2]
        assert on_b[0]["text"] == "What are your opening hours?"
        assert on_b[-1]["text"] == "We are open Monday to Friday, 9:00 to 17:00."


async def test_a_client_that_drops_from_one_node_resumes_on_the_other_with_nothing_lost(
    tmp_path: Path, postgres_url: str, redis_prefix: str
) -> None:
    async with cluster(tmp_path, postgres_url, redis_prefix) as nodes:
        org = await seed.organisation(nodes.services)
        async with open_socket(nodes.a.ws_url, org.widget_id, org.origin) as phone:
            await authenticate(phone, await seed.token_for(nodes.services, org))
            await say(phone, "What are your opening hours?")
            seen = await receive_until(phone, is_assistant_message, timeout=10)
        last_seen = max(f["seq"] for f in seen if f["type"] == "message")
        async with open_socket(nodes.b.ws_url, org.widget_id, org.origin) as laptop:
            await authenticate(laptop, await seed.token_for(nodes.services, org), last_seq=2)
            await say(laptop, "How do I block my card?")
            await receive_until(laptop, is_assistant_message, timeout=10)
        async with open_socket(nodes.b.ws_url, org.widget_id, org.origin) as phone_again:
            ready = await authenticate(
                phone_again, await seed.token_for(nodes.services, org), last_seq=last_seen
            )
            caught_up = [await receive(phone_again) for _ in range(ready["last_seq"] - last_seen)]
        assert ready["last_seq"] == 4
        assert [f["seq"] for f in caught_up] == [3, 4]
        assert caught_up[0]["text"] == "How do I block my card?"


USERS = 4
MESSAGES_PER_USER = 250
KILL_AFTER = 400
UNLIMITED = {
    "PARLOUR_GATEWAY__MESSAGES_PER_USER": "100000/minute",
    "PARLOUR_GATEWAY__FRAMES_PER_CONNECTION": "10000/second",
}


async def test_killing_a_node_mid_exchange_loses_and_repeats_nothing(
    tmp_path: Path, postgres_url: str, redis_prefix: str
) -> None:
    """1,000 messages from four customers on node A, watched from node B; node A is killed
    (SIGKILL) partway. Every acknowledged message is delivered exactly once, in order, after the
    senders resume on node B."""
    async with cluster(tmp_path, postgres_url, redis_prefix, **UNLIMITED) as nodes:
        org = await seed.organisation(nodes.services, faq=None)
        for n in range(USERS):
            # With a person asked for, only the customers speak: the count stays exact.
            await seed.with_a_person(nodes.services, org, f"user-{n}")

        def client(node: ServeProcess, n: int) -> ChatClient:
            async def token() -> str:
                return await seed.token_for(nodes.services, org, f"user-{n}")

            return ChatClient(node.ws_url, org.widget_id, token, origin=org.origin)

        sent_total = [0]
        killed = asyncio.Event()

        async def sender(n: int) -> list[str]:
            chat, texts = client(nodes.a, n), []
            await chat.connect()
            for i in range(MESSAGES_PER_USER):
                texts.append(f"user-{n} message {i}")
                client_id = await send_resuming(chat, texts[-1])
                while client_id not in chat.accepted:
                    try:
                        await chat.next_frame()
                    except (ClientClosed, OSError):
                        await resume_on(chat, nodes.b, killed)
                sent_total[0] += 1
                if sent_total[0] == KILL_AFTER:
                    nodes.a.kill()
                    killed.set()
            await chat.close()
            return texts

        async def observer(n: int) -> list[Frame]:
            chat = client(nodes.b, n)
            await chat.connect()
            frames = await chat.until(lambda f: f.get("seq") == MESSAGES_PER_USER + 1)
            await chat.close()
            return [f for f in frames if f["type"] in ("message", "handoff")]

        async with asyncio.timeout(180):
            results = await asyncio.gather(
                *(sender(n) for n in range(USERS)), *(observer(n) for n in range(USERS))
            )
        sent, seen = results[:USERS], results[USERS:]
        assert killed.is_set()
        for n in range(USERS):
            assert [f["seq"] for f in seen[n]] == list(range(1, MESSAGES_PER_USER + 2))
            assert [f["text"] for f in seen[n][1:]] == sent[n]
            conversation = await nodes.services.chat.open_conversation(org.tenant_id, f"user-{n}")
            stored = await nodes.services.chat.history(
                org.tenant_id, conversation.conversation_id, after_seq=0, limit=1000
            )
            assert [m.body for m in stored[1:]] == sent[n]


async def send_resuming(chat: ChatClient, text: str) -> str:
    client_id = str(uuid.uuid4())
    try:
        return await chat.send(text, client_id)
    except (ClientClosed, OSError):
        return client_id  # kept as pending: the reconnect sends it again


async def resume_on(chat: ChatClient, node: ServeProcess, killed: asyncio.Event) -> None:
    """The load balancer's part: after a drop, reconnect to the node still alive."""
    async with asyncio.timeout(30):
        await killed.wait()
    chat.base_url = node.ws_url
    await chat.connect()
