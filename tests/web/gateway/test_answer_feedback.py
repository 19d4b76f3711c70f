"""Thumbs on the assistant's answers over a real socket (issue 23, docs/protocol.md §3.5): kept
with the answer's turn and counted in the organisation's assistant report, once per answer; a
thumbs on anything but an answer of the customer's own conversation is refused with a stable
code, on both backends."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from websockets.asyncio.client import ClientConnection

from parlour.keys.models import Scope
from parlour.storage.tables import assistant_turns
from tests.conftest import Stack, running_stack
from tests.support import canaries, seed
from tests.support.chat import (
    authenticate,
    is_assistant_message,
    open_socket,
    receive_until,
    say,
)


@pytest.fixture
async def stack(database_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, database_url) as running:
        yield running


async def thumbs(ws: ClientConnection, message_id: str, value: str) -> dict[str, Any]:
    """Send a thumbs; the server's answer to it."""
    await ws.send(json.dumps({"type": "feedback", "id": message_id, "thumbs": value}))
    frames = await receive_until(ws, lambda f: f["type"] in ("feedback_saved", "error"))
    return frames[-1]


async def asked(ws: ClientConnection, question: str) -> tuple[str, str]:
    """Ask; the question's id and the answer's."""
    await say(ws, question)
    frames = await receive_until(ws, is_assistant_message)
    accepted = next(f for f in frames if f["type"] == "accepted")
    return accepted["id"], frames[-1]["id"]


async def test_thumbs_on_an_answer_are_kept_with_its_turn_once_and_counted(stack: Stack) -> None:
    services = stack.services
    org = await seed.organisation(services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(services, org))
        _, answer = await asked(ws, "how can I reset my password")

        saved = await thumbs(ws, answer, "down")
        again = await thumbs(ws, answer, "up")

    assert saved == {"type": "feedback_saved", "id": answer, "thumbs": "down"}
    assert (again["type"], again["code"]) == ("error", "feedback_given")  # the first stands
    async with services.db.read(org.tenant_id) as conn:
        kept = (
            await conn.execute(
                select(assistant_turns.c.thumbs, assistant_turns.c.thumbs_at).where(
                    assistant_turns.c.tenant_id == org.tenant_id,
                    assistant_turns.c.message_id == answer,
                )
            )
        ).one()
    assert kept.thumbs == "down"
    assert kept.thumbs_at is not None

    issued = await services.api_keys.create(
        org.tenant_id, label="reports", scopes=[Scope.READ_REPORTS], actor=seed.ACTOR
    )
    today = services.clock().date()
    dates = f"?from={today - timedelta(days=1)}&to={today + timedelta(days=1)}"
    bearer = {"authorization": f"Bearer {canaries.register(issued.secret)}"}
    async with httpx.AsyncClient(base_url=stack.url) as client:
        # The server's own process flushes its counts for the report it serves.
        report = (await client.get(f"/v1/reports/assistant{dates}", headers=bearer)).json()
    assert (report["thumbs"]["up"], report["thumbs"]["down"]) == (0, 1)
    assert report["thumbs"]["up_rate"] == 0.0
    (cited,) = report["most_cited"]
    assert (cited["question"], cited["thumbs_up"], cited["thumbs_down"]) == (
        "How do I reset my password?",
        0,
        1,
    )


async def test_thumbs_on_a_customers_own_message_or_another_conversations_answer_are_refused(
    stack: Stack,
) -> None:
    services = stack.services
    org = await seed.organisation(services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as alice:
        await authenticate(alice, await seed.token_for(services, org, "alice"))
        _, alices_answer = await asked(alice, "opening hours?")
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as bob:
        await authenticate(bob, await seed.token_for(services, org, "bob"))
        bobs_question, bobs_answer = await asked(bob, "how can I reset my password")

        on_another = await thumbs(bob, alices_answer, "down")
        on_own_question = await thumbs(bob, bobs_question, "up")
        on_nothing = await thumbs(bob, "no-such-message", "up")
        on_answer = await thumbs(bob, bobs_answer, "up")

    for refused in (on_another, on_own_question, on_nothing):
        assert (refused["type"], refused["code"]) == ("error", "not_an_answer")
    assert on_answer["type"] == "feedback_saved"  # the socket stays open and serves on
    async with services.db.read(org.tenant_id) as conn:
        rows = await conn.execute(
            select(assistant_turns.c.message_id, assistant_turns.c.thumbs).where(
                assistant_turns.c.tenant_id == org.tenant_id
            )
        )
        given = {row.message_id: row.thumbs for row in rows}
    assert given == {alices_answer: None, bobs_answer: "up"}  # Alice's answer untouched


async def test_thumbs_count_against_the_customers_message_rate(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-25: a feedback frame is a customer's frame like a message: past the per-user message
    rate it gets a rate_limited error and is not kept."""
    async with running_stack(
        tmp_path, sqlite_url, gateway={"messages_per_user": "2/minute"}
    ) as stack:
        services = stack.services
        org = await seed.organisation(services)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(services, org))
            _, answer = await asked(ws, "how can I reset my password")  # the rate's first
            refused = await thumbs(ws, "no-such-message", "up")  # its second
            limited = await thumbs(ws, answer, "down")
        async with services.db.read(org.tenant_id) as conn:
            kept = await conn.scalar(
                select(assistant_turns.c.thumbs).where(assistant_turns.c.message_id == answer)
            )
    assert refused["code"] == "not_an_answer"
    assert (limited["type"], limited["code"]) == ("error", "rate_limited")
    assert kept is None
