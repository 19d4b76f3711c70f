"""The scaled-out profile when PostgreSQL restarts: a message while it is down is not
acknowledged, and its socket is closed with 1013 and the reason (never a silent drop or a
traceback); once it is back, the client resumes on the same node, sends the message again under
its client id, and every acknowledged message is there exactly once. A cluster of the test's
own (initdb in a temporary folder), never the machine's server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import running_stack
from tests.support import seed
from tests.support.chat import authenticate, close_code, open_socket, receive, say
from tests.support.postgres_server import OwnPostgres, own_postgres


@pytest.fixture
def postgres_server() -> Iterator[OwnPostgres]:
    with own_postgres() as server:
        yield server


async def test_a_message_while_postgres_is_down_is_refused_cleanly_and_nothing_acked_is_lost(
    tmp_path: Path, postgres_server: OwnPostgres
) -> None:
    async with running_stack(tmp_path, postgres_server.url) as stack:
        org = await seed.organisation(stack.services, faq=None)
        await seed.with_a_person(stack.services, org)  # only the customer speaks
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org), last_seq=1)
            await say(ws, "before the restart")
            before = await receive(ws)
            postgres_server.stop()
            unsent = await say(ws, "while it was down")
            closed = await close_code(ws)
            reason = ws.close_reason
        async with httpx.AsyncClient(base_url=stack.url) as http:
            down = await http.get("/readyz")
            postgres_server.start()
            up = await http.get("/readyz")

        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            ready = await authenticate(ws, await seed.token_for(stack.services, org), last_seq=2)
            await say(ws, "while it was down", client_id=unsent)  # the client's retry
            again = await receive(ws)
            await say(ws, "after the restart")
            after = await receive(ws)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            resumed = await authenticate(ws, await seed.token_for(stack.services, org), last_seq=1)
            history = [await receive(ws) for _ in range(resumed["last_seq"] - 1)]

    assert down.status_code == 503
    assert down.json()["error"]["details"]["failing"] == ["database"]
    assert up.status_code == 200
    assert (before["type"], before["seq"]) == ("accepted", 2)
    assert closed == 1013
    assert reason == "The database cannot be reached; try again shortly."
    assert ready["last_seq"] == 2  # nothing was stored while it was down
    assert (again["type"], again["seq"]) == ("accepted", 3)
    assert (after["type"], after["seq"]) == ("accepted", 4)
    assert [(f["seq"], f["text"]) for f in history] == [
        (2, "before the restart"),
        (3, "while it was down"),
        (4, "after the restart"),
    ]
