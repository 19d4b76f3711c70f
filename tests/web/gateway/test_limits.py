"""Abuse limits on the chat gateway, against a real server (T-25)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from tests.conftest import running_stack
from tests.support import seed
from tests.support.chat import authenticate, close_code, open_socket, receive, say


async def test_a_flood_of_frames_closes_the_socket_with_4429(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-25: more frames per second than allowed ends the connection."""
    async with running_stack(
        tmp_path, sqlite_url, gateway={"frames_per_connection": "5/second"}
    ) as stack:
        org = await seed.organisation(stack.services)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org))
            for _ in range(10):
                await ws.send(json.dumps({"type": "typing", "state": True}))
            assert await close_code(ws) == 4429


async def test_too_many_messages_are_refused_one_by_one_and_not_stored(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-25: past the per-user message rate, each message gets a rate_limited error and is not
    stored; the socket stays open."""
    async with running_stack(
        tmp_path, sqlite_url, gateway={"messages_per_user": "2/minute"}
    ) as stack:
        org = await seed.organisation(stack.services, faq=None)
        conversation_id = await seed.with_a_person(stack.services, org)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org), last_seq=1)
            answers = []
            for n in range(3):
                await say(ws, f"message {n}")
                answers.append(await receive(ws))
        assert [a["type"] for a in answers] == ["accepted", "accepted", "error"]
        assert answers[2]["code"] == "rate_limited"
        stored = await stack.services.chat.get_conversation(org.tenant_id, conversation_id)
        assert stored.last_seq == 3  # the handoff and two messages


async def test_an_end_user_over_the_connection_cap_is_closed_with_4429(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-25: concurrent sockets per end user are capped; other users are unaffected."""
    async with running_stack(
        tmp_path, sqlite_url, gateway={"max_connections_per_user": 2}
    ) as stack:
        org = await seed.organisation(stack.services)
        async with (
            open_socket(stack.ws_url, org.widget_id, org.origin) as first,
            open_socket(stack.ws_url, org.widget_id, org.origin) as second,
            open_socket(stack.ws_url, org.widget_id, org.origin) as third,
            open_socket(stack.ws_url, org.widget_id, org.origin) as someone_else,
        ):
            await authenticate(first, await seed.token_for(stack.services, org, "u1"))
            await authenticate(second, await seed.token_for(stack.services, org, "u1"))
            await third.send(
                json.dumps(
                    {"type": "auth", "token": await seed.token_for(stack.services, org, "u1")}
                )
            )
            assert await close_code(third) == 4429
            await authenticate(someone_else, await seed.token_for(stack.services, org, "u2"))


async def test_connections_over_the_per_address_cap_are_refused_before_upgrade(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-25: HTTP 429 in the error shape, no socket; a closed socket frees its place."""
    async with running_stack(tmp_path, sqlite_url, gateway={"max_connections_per_ip": 2}) as stack:
        org = await seed.organisation(stack.services)
        async with (
            open_socket(stack.ws_url, org.widget_id, org.origin),
            open_socket(stack.ws_url, org.widget_id, org.origin),
        ):
            with pytest.raises(InvalidStatus) as refused:
                async with open_socket(stack.ws_url, org.widget_id, org.origin):
                    pass
            assert refused.value.response.status_code == 429
            assert (
                json.loads(refused.value.response.body)["error"]["code"] == "too_many_connections"
            )
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as again:
            await authenticate(again, await seed.token_for(stack.services, org))


async def test_too_many_handshakes_from_one_address_are_refused(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-25: the handshake rate per address is limited too."""
    async with running_stack(
        tmp_path, sqlite_url, gateway={"handshakes_per_ip": "3/minute"}
    ) as stack:
        org = await seed.organisation(stack.services)
        for _ in range(3):
            async with open_socket(stack.ws_url, org.widget_id, org.origin):
                pass
        with pytest.raises(InvalidStatus) as refused:
            async with open_socket(stack.ws_url, org.widget_id, org.origin):
                pass
        assert refused.value.response.status_code == 429
        assert json.loads(refused.value.response.body)["error"]["code"] == "rate_limited"


async def test_a_client_that_never_finishes_its_handshake_is_dropped(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-25: slow-loris. Request headers that do not arrive in full within the handshake
    deadline get the connection closed; a complete handshake on the same server still works."""
    async with running_stack(
        tmp_path, sqlite_url, gateway={"handshake_timeout_seconds": 0.5}
    ) as stack:
        org = await seed.organisation(stack.services)
        host, port = stack.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(f"GET /v1/chat/{org.widget_id} HTTP/1.1\r\nHost: {host}\r\n".encode())
        await writer.drain()
        async with asyncio.timeout(5):
            assert await reader.read() == b""  # closed by the server, nothing answered
        writer.close()
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org))
            await ws.ping()
