"""Durability across a process restart, with `parlour serve` as a real child process: what was
acknowledged stays, and what was used stays used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import seed
from tests.support.chat import authenticate, close_code, open_socket, receive, say
from tests.support.nodes import a_node_and_its_services, serving


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
