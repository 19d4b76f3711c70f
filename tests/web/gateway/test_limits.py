"""Abuse limits on the chat gateway, against a real server (T-25)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus

from parlour.chat.models import Author
from parlour.observability import event_fields
from tests.conftest import Stack, running_stack
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


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def logged(*names: str) -> Iterator[list[logging.LogRecord]]:
    """Every record the named loggers emit, INFO and up, from any thread."""
    handler = Records()
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    try:
        yield handler.records
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


async def handshake_status(stack: Stack, org: seed.Organisation, origin: str) -> int:
    try:
        async with open_socket(stack.ws_url, org.widget_id, origin):
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def test_t25_each_refused_handshake_is_one_structured_record_and_never_an_error(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-25, T-18: a refused upgrade (a foreign origin, too many handshakes) is recorded once,
    as a JSON security event. uvicorn logged an INFO line and an ERROR ("ASGI callable returned
    without completing handshake") for each as well, so anyone could fill the log with errors."""
    async with running_stack(
        tmp_path, sqlite_url, gateway={"handshakes_per_ip": "2/minute"}
    ) as stack:
        org = await seed.organisation(stack.services)
        # From here: uvicorn configures its loggers as the server starts.
        with logged("uvicorn.error", "parlour.security") as records:
            statuses = [
                await handshake_status(stack, org, origin)
                for origin in ("https://evil.example", org.origin, org.origin)
            ]
            stack.server.stop()  # all it would log about those sockets is logged
    assert statuses == [403, 101, 429]
    assert [r for r in records if r.levelno >= logging.ERROR] == []
    security = [event_fields(r) for r in records if r.name == "parlour.security"]
    assert [(e["event"], e["reason"]) for e in security] == [
        ("chat.handshake_refused", "origin_not_allowed"),
        ("chat.handshake_refused", "rate_limited"),
    ]
    uvicorn_lines = [r.getMessage() for r in records if r.name.startswith("uvicorn")]
    assert not [line for line in uvicorn_lines if " 403" in line or " 429" in line]
    assert any("[accepted]" in line for line in uvicorn_lines)  # the capture did capture


def ack(seq: int) -> str:
    return json.dumps({"type": "ack", "seq": seq})


async def test_t25_acking_each_frame_of_a_long_catch_up_does_not_trip_the_frame_limit(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-25: at the default 20 frames a second, a client that acks every one of 300 frames it
    is sent on resuming stays connected: an ack that moves the acknowledged point forward is
    not counted (there is at most one per frame sent). Acks that move nothing still count: a
    flood of them is closed with 4429."""
    async with running_stack(tmp_path, sqlite_url) as stack:
        org = await seed.organisation(stack.services, faq=None)
        conversation_id = await seed.with_a_person(stack.services, org)
        for n in range(299):
            await stack.services.chat.post(
                org.tenant_id, conversation_id, author=Author.AGENT, body=f"reply {n}"
            )
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org))
            seen = []
            for _ in range(300):
                seen.append((await receive(ws))["seq"])
                await ws.send(ack(seen[-1]))
            await say(ws, "Still there?")
            answer = await receive(ws)
            for _ in range(30):
                await ws.send(ack(300))
            code = await close_code(ws)
        assert seen == list(range(1, 301))
        assert (answer["type"], answer["seq"]) == ("accepted", 301)
        assert code == 4429
