"""A conversation over a real socket: answers from the organisation's FAQ, delivery by sequence
number, resume after reconnect, idempotent retries, handoff and re-authentication."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from parlour.assistant.tools import Subject
from tests.chat.test_lifecycle import member
from tests.conftest import Stack, running_stack
from tests.support import seed
from tests.support.chat import (
    authenticate,
    close_code,
    is_assistant_message,
    open_socket,
    receive,
    receive_until,
    say,
)
from tests.support.clock import ManualClock


async def test_a_question_from_the_faq_gets_the_grounded_answer_with_its_citation(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        client_id = await say(ws, "how can I reset my password")
        frames = await receive_until(ws, is_assistant_message)
    accepted = next(f for f in frames if f["type"] == "accepted")
    assert accepted == {
        "type": "accepted",
        "client_id": client_id,
        "seq": 1,
        "id": accepted["id"],
        "created_at": accepted["created_at"],
    }
    # The accepted frame delivered the question; the socket that sent it is not sent it again.
    assert not any(f["type"] == "message" and f["author"] == "user" for f in frames)
    answer = frames[-1]
    assert answer["text"].startswith("Tap Forgot password")
    assert answer["citations"][0]["title"] == "How do I reset my password?"
    assert answer["seq"] == 2
    assert "actions" not in answer
    assert {"type": "typing", "author": "assistant", "state": True} in frames


async def test_a_question_outside_the_faq_gets_an_honest_abstention_and_a_human_offer(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        await say(ws, "Do you sell car insurance?")
        answer = (await receive_until(ws, is_assistant_message))[-1]
    assert answer["citations"] == []
    assert answer["actions"] == ["handoff"]
    assert "talk to a person" in answer["text"]


async def test_every_durable_frame_carries_the_next_sequence_number(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    seqs = []
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        for question in ["opening hours?", "block my card", "reset password"]:
            await say(ws, question)
            frames = await receive_until(ws, is_assistant_message)
            seqs += [f["seq"] for f in frames if f["type"] in ("accepted", "message")]
    assert seqs == [1, 2, 3, 4, 5, 6]


async def test_reconnecting_with_last_seq_resumes_without_loss_or_duplicates(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        await say(ws, "opening hours?")
        await receive_until(ws, is_assistant_message)  # seq 1 and 2 delivered
    # Meanwhile, while the user is away, more is said in the conversation.
    conversation = await stack.services.chat.open_conversation(org.tenant_id, "customer-1")
    appended = await stack.services.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id="other-device", text="block my card"
    )
    user_message = appended.message
    await stack.services.assistant.answer(user_message, Subject(org.tenant_id, "customer-1"))

    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        ready = await authenticate(ws, await seed.token_for(stack.services, org), last_seq=1)
        frames = [await receive(ws) for _ in range(3)]
    assert ready["last_seq"] == 4
    assert [f["seq"] for f in frames] == [2, 3, 4]
    assert frames[1]["text"] == "block my card"


async def test_a_retried_message_with_the_same_client_id_is_stored_once(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    token = await seed.token_for(stack.services, org)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        client_id = await say(ws, "opening hours?")
        first = await receive_until(ws, is_assistant_message)
        await say(ws, "opening hours?", client_id=client_id)
        again = await receive(ws)
    assert again == next(f for f in first if f["type"] == "accepted")
    conversation = await stack.services.chat.open_conversation(org.tenant_id, "customer-1")
    assert conversation.last_seq == 2  # one user message, one answer; the retry added nothing


async def test_a_verified_user_finds_their_history_on_another_device(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as phone:
        await authenticate(phone, await seed.token_for(stack.services, org, "customer-7"))
        await say(phone, "opening hours?")
        await receive_until(phone, is_assistant_message)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as laptop:
        await authenticate(laptop, await seed.token_for(stack.services, org, "customer-7"))
        history = [await receive(laptop), await receive(laptop)]
    assert [f["author"] for f in history] == ["user", "assistant"]


async def test_two_customers_of_one_organisation_never_see_each_other(stack: Stack) -> None:
    """T-35: each end user's socket is bound to their own conversation."""
    org = await seed.organisation(stack.services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as alice:
        ready_a = await authenticate(alice, await seed.token_for(stack.services, org, "alice"))
        await say(alice, "My secret note CANARY-ALICE")
        await receive_until(alice, is_assistant_message)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as bob:
        ready_b = await authenticate(bob, await seed.token_for(stack.services, org, "bob"))
        await say(bob, "opening hours?")
        frames = await receive_until(bob, is_assistant_message)
    assert ready_a["conversation_id"] != ready_b["conversation_id"]
    assert ready_b["last_seq"] == 0
    assert "CANARY-ALICE" not in json.dumps(frames)


async def test_asking_for_a_human_queues_the_conversation_and_silences_the_assistant(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)
    await member(stack.services, org.tenant_id)  # someone who handles conversations
    token = await seed.token_for(stack.services, org)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, token)
        await ws.send(json.dumps({"type": "handoff"}))
        # Nobody has the desk open: the customer is told so too (docs/protocol.md §3.4).
        handoff = (await receive_until(ws, lambda f: f["type"] == "handoff"))[-1]
        await say(ws, "opening hours?")
        accepted = (await receive_until(ws, lambda f: f["type"] == "accepted"))[-1]
    assert handoff["type"] == "handoff"
    assert handoff["state"] == "queued"
    assert handoff["seq"] == 1
    assert (accepted["type"], accepted["seq"]) == ("accepted", 2)
    conversation = await stack.services.chat.open_conversation(org.tenant_id, "customer-1")
    assert conversation.status == "queued"
    assert conversation.last_seq == 2  # the handoff and the user's message; no bot answer


async def test_reauth_with_a_fresh_token_for_the_same_user_keeps_the_socket(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(stack.services, org, "customer-1"))
        fresh = await seed.token_for(stack.services, org, "customer-1")
        await ws.send(json.dumps({"type": "reauth", "token": fresh}))
        await say(ws, "opening hours?")
        frames = await receive_until(ws, is_assistant_message)
    assert frames[0]["type"] == "accepted"


async def test_reauth_with_another_users_token_closes_with_4401(stack: Stack) -> None:
    """T-22: a socket cannot be re-bound to another identity."""
    org = await seed.organisation(stack.services)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(stack.services, org, "customer-1"))
        other = await seed.token_for(stack.services, org, "customer-2")
        await ws.send(json.dumps({"type": "reauth", "token": other}))
        assert await close_code(ws) == 4401


async def test_a_socket_whose_token_expires_is_warned_then_closed_with_4401(
    tmp_path: Path, sqlite_url: str
) -> None:
    """T-22: the server asks for reauth before expiry, and closes the socket when the identity
    it was opened with runs out. The server's clock is the test's: time moves when told to."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        org = await seed.organisation(stack.services)
        ttl = timedelta(seconds=30)
        short = await seed.signed_token(stack.services, org, issuer=stack.url, ttl=ttl)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, short)
            warning = await receive(ws)
            assert warning["type"] == "reauth_required"
            assert 0 < warning["expires_in"] <= 30
            clock.advance(ttl + timedelta(minutes=1))
            assert await close_code(ws) == 4401


async def test_agent_and_admin_actions_from_an_end_user_socket_are_refused(stack: Stack) -> None:
    """T-23: an end user's socket has no verbs beyond its own conversation's; `assign`,
    `transfer` or reading another conversation are bad frames and change nothing."""
    org = await seed.organisation(stack.services)
    other = await stack.services.chat.open_conversation(org.tenant_id, "someone-else")
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(stack.services, org))
        for frame in [
            {"type": "assign", "conversation_id": other.conversation_id, "agent": "me"},
            {"type": "transfer", "conversation_id": other.conversation_id},
            {"type": "read_conversation", "conversation_id": other.conversation_id},
            {"type": "ack", "seq": 0, "conversation_id": other.conversation_id},
        ]:
            await ws.send(json.dumps(frame))
            answer = await receive(ws)
            assert answer["type"] == "error"
            assert answer["code"] == "bad_frame"
    assert (
        await stack.services.chat.get_conversation(org.tenant_id, other.conversation_id)
    ).last_seq == 0


async def test_a_message_reaches_the_users_other_devices_but_is_not_echoed_to_its_sender(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)
    await seed.with_a_person(stack.services, org)
    async with (
        open_socket(stack.ws_url, org.widget_id, org.origin) as phone,
        open_socket(stack.ws_url, org.widget_id, org.origin) as laptop,
    ):
        await authenticate(phone, await seed.token_for(stack.services, org), last_seq=1)
        await authenticate(laptop, await seed.token_for(stack.services, org), last_seq=1)
        from_phone = await say(phone, "sent from my phone")
        accepted = await receive(phone)
        on_laptop = await receive(laptop)
        await say(laptop, "and this from my laptop")
        after = [await receive(phone), await receive(laptop)]
    assert (accepted["type"], accepted["seq"]) == ("accepted", 2)
    assert (on_laptop["type"], on_laptop["seq"], on_laptop["client_id"]) == (
        "message",
        2,
        from_phone,
    )
    # The phone's next frame is the laptop's message: its own was never sent back to it.
    assert [(f["type"], f["seq"]) for f in after] == [("message", 3), ("accepted", 3)]
