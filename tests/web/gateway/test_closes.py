"""The closes no other gateway test reaches: a normal close, too many bad frames, a failure
while delivering events. Each close code comes from the error's class (parlour.web.errors)."""

from __future__ import annotations

import logging

import pytest
from websockets.exceptions import ConnectionClosed

from parlour.chat.visit import MAX_BAD_FRAMES
from parlour.services import Services
from tests.conftest import Stack
from tests.support import seed
from tests.support.chat import authenticate, open_socket, receive, say


async def test_a_client_that_leaves_before_authenticating_closes_normally_with_1000(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await ws.close()
    assert (ws.close_code, ws.close_reason) == (1000, "")


async def test_too_many_bad_frames_close_with_4400(stack: Stack) -> None:
    """T-24: each bad frame is answered with an error frame, up to a point."""
    org = await seed.organisation(stack.services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(stack.services, org))
        for _ in range(MAX_BAD_FRAMES):
            await ws.send("{not json")
            assert (await receive(ws))["code"] == "bad_frame"
        await ws.send("{not json")
        with pytest.raises(ConnectionClosed) as closed:
            await receive(ws)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4400, "too many bad frames")


async def test_a_failure_while_delivering_events_closes_with_1011_and_asks_to_resume(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nothing of the failure reaches the client: a generic reason, and the client resumes."""
    org = await seed.organisation(stack.services, faq=None)
    conversation_id = await seed.with_a_person(stack.services, org)
    async with (
        open_socket(stack.ws_url, org.widget_id, org.origin) as watching,
        open_socket(stack.ws_url, org.widget_id, org.origin) as talking,
    ):
        await authenticate(watching, await seed.token_for(stack.services, org), last_seq=1)
        await authenticate(talking, await seed.token_for(stack.services, org), last_seq=1)
        # Stored where the server's sockets do not hear of it: the next event shows a gap, and
        # filling it reads the history, which fails.
        await stack.services.chat.post_user_message(
            org.tenant_id, conversation_id, client_id="elsewhere", text="from elsewhere"
        )

        async def history_fails(*args: object, **kwargs: object) -> None:
            raise RuntimeError("the history could not be read")

        served: Services = stack.app.state.services
        monkeypatch.setattr(served.chat, "history", history_fails)
        await say(talking, "hello")
        with pytest.raises(ConnectionClosed) as closed:
            await receive(watching)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        1011,
        "server error; reconnect and resume",
    )


async def test_a_client_that_vanishes_while_answers_are_sent_leaves_no_error_behind(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """A phone that loses its network mid-conversation: its connection is dropped without a
    close frame while the server still sends it frames (acks, answers). The socket ends
    quietly: nothing logged as an error, no traceback, and the messages stay stored."""
    org = await seed.organisation(stack.services)
    for _ in range(5):
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org))
            for _ in range(3):
                await say(ws, "What are your opening hours?")
            ws.transport.abort()  # gone, without a close frame
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        ready = await authenticate(ws, await seed.token_for(stack.services, org))
    assert ready["last_seq"] >= 15  # every customer message was stored
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == []
