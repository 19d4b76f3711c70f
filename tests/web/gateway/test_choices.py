"""The middle band over a real socket (docs/protocol.md §3.6), on both backends: an unsure
question is answered with an offer of choices, durable like any message (a reconnecting
widget is sent it again); a `choose` frame is answered `chosen` and then by the assistant's
answer from the chosen entry; a pick that names nothing of this conversation, or a second pick,
is refused with its stable code."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection

from tests.conftest import Stack, running_stack
from tests.support import seed
from tests.support.chat import authenticate, is_assistant_message, open_socket, receive_until, say

MIDDLE_BAND = {"min_confidence": 0.6, "min_offer_confidence": 0.3}
UNSURE = "help with my account"


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, database_url, assistant=MIDDLE_BAND) as running:
        yield running


async def choose(ws: ClientConnection, message_id: str, choice: str) -> dict[str, Any]:
    """Send a pick; the server's answer to it."""
    await ws.send(json.dumps({"type": "choose", "message_id": message_id, "choice": choice}))
    frames = await receive_until(ws, lambda f: f["type"] in ("chosen", "error"))
    return frames[-1]


async def test_a_pick_of_an_offer_is_answered_from_the_chosen_entry(stack: Stack) -> None:
    services = stack.services
    org = await seed.organisation(services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(services, org))
        await say(ws, UNSURE)
        offer = (await receive_until(ws, is_assistant_message))[-1]

        chosen = await choose(ws, offer["id"], "2")
        answer = (await receive_until(ws, is_assistant_message))[-1]
        again = await choose(ws, offer["id"], "1")

    assert offer["choices"] == [
        {"id": "1", "title": "How do I reset my password?"},
        {"id": "2", "title": "How do I block my card?"},
    ]
    assert offer["actions"] == ["handoff"]
    assert chosen == {"type": "chosen", "message_id": offer["id"], "choice": "2"}
    assert "Freeze card" in answer["text"]
    assert answer["citations"][0]["title"] == "How do I block my card?"
    assert "choices" not in answer
    assert (again["type"], again["code"]) == ("error", "already_chosen")

    # A reconnecting widget is sent the offer again, with its choices.
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(services, org), last_seq=0)
        replayed = await receive_until(ws, lambda f: f.get("id") == answer["id"])
    (resent,) = [f for f in replayed if f.get("id") == offer["id"]]
    assert resent["choices"] == offer["choices"]


async def test_a_pick_of_another_customers_offer_is_not_an_offer(stack: Stack) -> None:
    """T-29: the pick names an offer of the socket's own conversation, or nothing."""
    services = stack.services
    org = await seed.organisation(services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(services, org, "someone-else"))
        await say(ws, UNSURE)
        theirs = (await receive_until(ws, is_assistant_message))[-1]

    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(services, org))
        refused = [
            await choose(ws, theirs["id"], "1"),
            await choose(ws, "no-such-message", "1"),
        ]
        await ws.send(json.dumps({"type": "choose", "message_id": theirs["id"], "choice": ""}))
        malformed = (await receive_until(ws, lambda f: f["type"] == "error"))[-1]

    assert [(f["type"], f["code"]) for f in refused] == [("error", "not_an_offer")] * 2
    assert malformed["code"] == "bad_frame"
    assert (
        await services.knowledge.learned.of_entry(org.tenant_id, "How do I reset my password?")
        == []
    )
