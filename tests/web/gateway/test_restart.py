"""Durability across a process restart, with `parlour serve` as a real child process: what was
acknowledged stays, and what was used stays used."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from parlour.services import Services, build_services
from tests.conftest import make_settings, new_master_key
from tests.support import seed
from tests.support.chat import authenticate, close_code, open_socket, receive, say
from tests.support.redis import reachable_prefix, redis_url
from tests.support.servers import ServeProcess, free_socket


@contextlib.contextmanager
def serving(env: dict[str, str], port: int) -> Iterator[ServeProcess]:
    node = ServeProcess(env, port)
    try:
        node.wait_ready()
        yield node
    finally:
        node.stop()


@contextlib.asynccontextmanager
async def a_node_and_its_services(
    tmp_path: Path, database_url: str, redis: bool
) -> AsyncIterator[tuple[dict[str, str], int, Services]]:
    """The environment of a node (on the embedded profile, or with Redis) on a free port, and
    services on the same database and keys to seed it with."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    master_key = new_master_key()
    url = f"http://127.0.0.1:{port}"
    env = {
        "PARLOUR_ENVIRONMENT": "test",
        "PARLOUR_DATA_DIR": str(tmp_path),
        "PARLOUR_DATABASE__URL": database_url,
        "PARLOUR_SERVER__PUBLIC_URL": url,
        "PARLOUR_CRYPTO__MASTER_KEY": master_key,
    }
    async with contextlib.AsyncExitStack() as stack:
        if redis:
            prefix = await stack.enter_async_context(
                contextlib.asynccontextmanager(reachable_prefix)()
            )
            env |= {"PARLOUR_REDIS__URL": redis_url(), "PARLOUR_REDIS__KEY_PREFIX": prefix}
        services = build_services(
            make_settings(
                tmp_path, database_url=database_url, public_url=url, master_key=master_key
            )
        )
        stack.push_async_callback(services.aclose)
        await services.migrate()
        yield env, port, services


async def test_a_message_acknowledged_before_a_restart_is_in_the_history_after_it(
    database_url: str, tmp_path: Path
) -> None:
    async with a_node_and_its_services(tmp_path, database_url, redis=False) as (
        env,
        port,
        services,
    ):
        org = await seed.organisation(services, faq=None)
        with serving(env, port) as first:
            async with open_socket(first.ws_url, org.widget_id, org.origin) as ws:
                await authenticate(ws, await seed.token_for(services, org))
                client_id = await say(ws, "Please remember: my parcel is 4471")
                accepted = await receive(ws)
        with serving(env, port) as second:
            async with open_socket(second.ws_url, org.widget_id, org.origin) as ws:
                await authenticate(ws, await seed.token_for(services, org))
                replayed = await receive(ws)

    assert (accepted["type"], accepted["client_id"], accepted["seq"]) == ("accepted", client_id, 1)
    assert replayed["seq"] == 1
    assert replayed["client_id"] == client_id
    assert replayed["text"] == "Please remember: my parcel is 4471"


PROFILES = ["embedded", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.mark.parametrize("profile", PROFILES)
async def test_a_used_token_opens_no_session_after_a_restart(
    database_url: str, tmp_path: Path, profile: str
) -> None:
    """T-15: single use holds across a restart of the node, on every profile."""
    async with a_node_and_its_services(tmp_path, database_url, profile == "redis") as (
        env,
        port,
        services,
    ):
        org = await seed.organisation(services, faq=None)
        token = await seed.token_for(services, org)
        with serving(env, port) as first:
            async with open_socket(first.ws_url, org.widget_id, org.origin) as ws:
                await authenticate(ws, token)
        with serving(env, port) as second:
            async with open_socket(second.ws_url, org.widget_id, org.origin) as ws:
                await ws.send(json.dumps({"type": "auth", "token": token}))
                refused = await close_code(ws)
            async with open_socket(second.ws_url, org.widget_id, org.origin) as ws:
                await authenticate(ws, await seed.token_for(services, org))
    assert refused == 4401


@pytest.mark.parametrize("profile", PROFILES)
async def test_a_used_visitor_token_does_not_reopen_its_conversation_after_a_restart(
    database_url: str, tmp_path: Path, profile: str
) -> None:
    """T-04, T-15: a visitor token lives a day; used once, it is refused after a restart too,
    while the token the visitor was last given still resumes the conversation."""
    async with a_node_and_its_services(tmp_path, database_url, profile == "redis") as (
        env,
        port,
        services,
    ):
        org = await seed.organisation(services, faq=None)
        await services.tenants.set_anonymous_visitors(org.tenant_id, True, actor=seed.ACTOR)
        with serving(env, port) as first:
            async with open_socket(first.ws_url, org.widget_id, org.origin) as ws:
                await ws.send(json.dumps({"type": "auth", "visitor": True}))
                issued = (await receive(ws))["visitor_token"]
            async with open_socket(first.ws_url, org.widget_id, org.origin) as ws:
                await ws.send(json.dumps({"type": "auth", "visitor_token": issued}))
                resumed = await receive(ws)
                await say(ws, "My account number is in this conversation")
                await receive(ws)
        with serving(env, port) as second:
            async with open_socket(second.ws_url, org.widget_id, org.origin) as ws:
                await ws.send(json.dumps({"type": "auth", "visitor_token": issued}))
                refused = await close_code(ws)
            async with open_socket(second.ws_url, org.widget_id, org.origin) as ws:
                latest = resumed["visitor_token"]
                await ws.send(json.dumps({"type": "auth", "visitor_token": latest}))
                rightful = await receive(ws)
    assert resumed["type"] == "ready"
    assert refused == 4401
    assert rightful["conversation_id"] == resumed["conversation_id"]
