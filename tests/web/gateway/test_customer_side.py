"""The customer's side of the live desk over a real socket: an agent's replies carry the name
they were sent under, the agent's typing reaches the widget, read receipts go both ways, the
widget is told whether a person can be asked for, a typed request for a person is a handoff, and
with the assistant off a conversation goes straight to people."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from parlour.chat.models import Author
from parlour.features import FeatureChanges
from parlour.identity.models import Role
from tests.conftest import Stack
from tests.support import seed
from tests.support.accounts import Browser, signed_up_and_enrolled
from tests.support.chat import (
    authenticate,
    is_assistant_message,
    open_socket,
    receive,
    receive_until,
    say,
)
from tests.support.desk import desk_member, hello, open_desk


@dataclass
class Team:
    """A verified organisation with one agent signed in on the dashboard."""

    org: seed.Organisation
    agent: Browser
    agent_id: str

    def path(self, conversation_id: str, rest: str = "") -> str:
        return f"/v1/organisations/{self.org.tenant_id}/conversations/{conversation_id}{rest}"


@pytest.fixture
async def team(stack: Stack) -> AsyncIterator[Team]:
    org = await seed.organisation(stack.services)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        agent = Browser(client)
        email, _ = await signed_up_and_enrolled(stack, agent)
        await stack.services.members.add(org.tenant_id, email, Role.AGENT, actor=seed.ACTOR)
        account = await stack.services.accounts.by_email(email)
        assert account is not None
        yield Team(org, agent, account.account_id)


def _type(kind: str, **fields: Any) -> Any:
    return lambda frame: frame["type"] == kind and all(frame.get(k) == v for k, v in fields.items())


async def _conversation_id(stack: Stack, team: Team) -> str:
    conversation = await stack.services.chat.open_conversation(team.org.tenant_id, "customer-1")
    return conversation.conversation_id


def _customer(stack: Stack, team: Team) -> Any:
    return open_socket(stack.ws_url, team.org.widget_id, team.org.origin)


async def test_an_agents_reply_carries_the_name_it_was_sent_under_and_their_typing_shows(
    stack: Stack, team: Team
) -> None:
    named = await team.agent.send("PUT", "/v1/session/display-name", {"display_name": " Ada  L "})
    assert named.json() == {"display_name": "Ada L"}
    async with _customer(stack, team) as ws:
        await authenticate(ws, await seed.token_for(stack.services, team.org))
        conversation_id = await _conversation_id(stack, team)
        await team.agent.send("POST", team.path(conversation_id, "/typing"), {"active": True})
        typing = await receive(ws)
        sent = await team.agent.send(
            "POST", team.path(conversation_id, "/messages"), {"text": "Hello, I can help."}
        )
        reply = (await receive_until(ws, _type("message", author="agent")))[-1]
    assert typing == {"type": "typing", "author": "agent", "state": True, "name": "Ada L"}
    assert sent.json()["author_name"] == "Ada L"
    assert reply["author_name"] == "Ada L"
    assert reply["text"] == "Hello, I can help."
    # Renamed later, the reply keeps the name it was sent under (stored at send).
    await team.agent.send("PUT", "/v1/session/display-name", {"display_name": "Ada Lovelace"})
    async with _customer(stack, team) as ws:
        await authenticate(ws, await seed.token_for(stack.services, team.org))
        history = await receive_until(ws, _type("message", author="agent"))
    assert history[-1]["author_name"] == "Ada L"


async def test_a_display_name_with_markup_or_controls_is_refused(team: Team) -> None:
    for name in ("<img src=x>", "Ada\u202eevil", "x" * 81, "Ada\x00", "Ada\u200b"):
        answer = await team.agent.send("PUT", "/v1/session/display-name", {"display_name": name})
        assert answer.status_code == 422, name


async def test_read_receipts_go_both_ways_and_only_forward(stack: Stack, team: Team) -> None:
    async with _customer(stack, team) as ws:
        await authenticate(ws, await seed.token_for(stack.services, team.org))
        conversation_id = await _conversation_id(stack, team)
        await team.agent.send("POST", team.path(conversation_id, "/messages"), {"text": "Hi!"})
        frames = await receive_until(ws, _type("message", author="agent"))
        last = frames[-1]["seq"]
        await ws.send(json.dumps({"type": "read", "seq": last}))
        await say(ws, "Thanks, one question")
        accepted = (await receive_until(ws, _type("accepted")))[-1]
        seen_by_people = (await team.agent.send("GET", team.path(conversation_id))).json()
        read = await team.agent.send(
            "POST", team.path(conversation_id, "/read"), {"seq": accepted["seq"]}
        )
        receipt = await receive(ws)
        again = await team.agent.send("POST", team.path(conversation_id, "/read"), {"seq": 1})
        beyond = await team.agent.send("POST", team.path(conversation_id, "/read"), {"seq": 99})
    assert seen_by_people["customer_read_seq"] == last
    assert read.json() == {"moved": True}
    assert receipt == {"type": "read", "seq": accepted["seq"], "by": "agent"}
    assert again.json() == {"moved": False}  # never backwards, and the customer is told nothing
    assert beyond.status_code == 422
    # The agent's own read mark too, which their Inbox counts unread messages from.
    marks = await stack.services.desk_marks.reads(
        team.org.tenant_id, team.agent_id, [conversation_id]
    )
    assert marks == {conversation_id: accepted["seq"]}
    # Coming back, the widget is told how far the people have read, after the history.
    async with _customer(stack, team) as ws:
        await authenticate(ws, await seed.token_for(stack.services, team.org))
        back = await receive_until(ws, _type("read"))
    assert back[-1] == {"type": "read", "seq": accepted["seq"], "by": "agent"}


async def test_ready_says_whether_a_person_can_be_asked_for(stack: Stack, team: Team) -> None:
    async with _customer(stack, team) as ws:
        ready = await authenticate(ws, await seed.token_for(stack.services, team.org))
    assert ready["people"] is True
    await stack.services.features.change(
        team.org.tenant_id, FeatureChanges(talk_to_a_person=False), actor=seed.ACTOR
    )
    async with _customer(stack, team) as ws:
        switched_off = await authenticate(ws, await seed.token_for(stack.services, team.org))
    nobody = await seed.organisation(stack.services, origin="https://nobody.example.com")
    async with open_socket(stack.ws_url, nobody.widget_id, nobody.origin) as ws:
        no_people = await authenticate(ws, await seed.token_for(stack.services, nobody))
    assert switched_off["people"] is False
    assert no_people["people"] is False


async def test_a_typed_request_for_a_person_is_a_handoff_not_an_assistant_turn(
    stack: Stack, team: Team
) -> None:
    async with _customer(stack, team) as ws:
        await authenticate(ws, await seed.token_for(stack.services, team.org))
        await say(ws, "How do I reset my password?")
        answered = await receive_until(ws, is_assistant_message)
        await say(ws, "Can I talk to a human please?")
        handed = await receive_until(ws, _type("handoff"))
    assert answered[-1]["text"].startswith("Tap Forgot password")
    # Nobody of the team has the desk open: the customer is told so at once, and offered e-mail.
    assert [f["type"] for f in handed] == ["accepted", "availability", "handoff"]
    assert (handed[1]["reason"], handed[-1]["state"]) == ("nobody_available", "queued")
    conversation_id = await _conversation_id(stack, team)
    history = await stack.services.chat.history(
        team.org.tenant_id, conversation_id, after_seq=0, limit=10
    )
    authors = [Author.USER, Author.ASSISTANT, Author.USER, Author.SYSTEM]
    assert [m.author for m in history] == authors


async def test_a_request_that_only_mentions_people_is_answered_by_the_assistant(
    stack: Stack, team: Team
) -> None:
    async with _customer(stack, team) as ws:
        await authenticate(ws, await seed.token_for(stack.services, team.org))
        await say(ws, "I don't want to talk to a person, what are your opening hours?")
        frames = await receive_until(ws, is_assistant_message)
    assert not any(f["type"] == "handoff" for f in frames)


async def test_with_the_assistant_off_a_new_conversation_goes_straight_to_people(
    stack: Stack, team: Team
) -> None:
    await stack.services.features.change(
        team.org.tenant_id, FeatureChanges(assistant_enabled=False), actor=seed.ACTOR
    )
    async with _customer(stack, team) as ws:
        await authenticate(ws, await seed.token_for(stack.services, team.org))
        await say(ws, "How do I reset my password?")
        frames = await receive_until(ws, _type("handoff"))
    # Queued at once (and, with no agent's desk open, told that nobody is there yet).
    assert [f["type"] for f in frames] == ["accepted", "availability", "handoff"]
    assert frames[-1]["state"] == "queued"
    conversation_id = await _conversation_id(stack, team)
    listed = f"/v1/organisations/{team.org.tenant_id}/conversations"
    waiting = await team.agent.send("GET", listed)
    assert [c["conversation_id"] for c in waiting.json()] == [conversation_id]
    history = await stack.services.chat.history(
        team.org.tenant_id, conversation_id, after_seq=0, limit=10
    )
    # Nobody asked the customer "would you like a person?": the assistant never spoke.
    assert all(m.author is not Author.ASSISTANT for m in history)


async def test_with_the_assistant_off_and_nobody_to_ask_the_assistant_still_says_so(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)
    await stack.services.features.change(
        org.tenant_id, FeatureChanges(assistant_enabled=False), actor=seed.ACTOR
    )
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(stack.services, org))
        await say(ws, "How do I reset my password?")
        answer = (await receive_until(ws, is_assistant_message))[-1]
    assert "not available" in answer["text"]


async def test_a_typed_request_where_nobody_can_be_asked_for_is_answered_by_the_assistant(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)  # no member handles conversations
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(stack.services, org))
        await say(ws, "agent please")
        frames = await receive_until(ws, is_assistant_message)
    assert not any(f["type"] == "handoff" for f in frames)


async def test_with_an_agents_desk_open_a_customer_asking_for_a_person_is_not_told_nobody_is_there(
    stack: Stack,
) -> None:
    """Presence comes from the agent's live desk socket: while it is open, an agent is available,
    so the customer who asks for a person is queued without the `availability` frame."""
    org = await seed.organisation(stack.services)
    ada = await desk_member(stack.services, org.tenant_id)
    async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as desk:
        await hello(desk)  # ready: the socket is counted in ada's presence
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org))
            await say(ws, "Can I talk to a human please?")
            frames = await receive_until(ws, _type("handoff"))
    assert [f["type"] for f in frames] == ["accepted", "handoff"]


async def test_auto_assignment_gives_a_waiting_customer_to_the_agent_whose_desk_is_open(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services)
    ada = await desk_member(stack.services, org.tenant_id)
    await stack.services.auto_assignment.configure(
        org.tenant_id, enabled=True, default_capacity=2, actor=seed.ACTOR
    )
    async with open_desk(stack.ws_url, org.tenant_id, ada.session_token, stack.url) as desk:
        await hello(desk)  # ready: the socket is counted in ada's presence
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(stack.services, org))
            await say(ws, "Can I talk to a human please?")
            joined = await receive_until(ws, _type("handoff", state="agent_joined"))
        moved = await receive_until(desk, _type("conversation", status="assigned"))
    assert joined[-1]["state"] == "agent_joined"
    assert moved[-1]["assignee"] == ada.account_id
