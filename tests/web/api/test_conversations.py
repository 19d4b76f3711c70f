"""The agents' desk over HTTP: a person sees who waits, answers them, and hands the conversation
back; the customer's widget hears each step, and each step is audited with who took it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection

from parlour.identity.models import Role
from tests.conftest import Stack
from tests.support import seed
from tests.support.accounts import Browser, signed_up_and_enrolled
from tests.support.chat import (
    authenticate,
    is_assistant_message,
    open_socket,
    receive_until,
    say,
)
from tests.web.test_errors import assert_error_shape


@dataclass
class Desk:
    """A verified organisation, one of its agents signed in, and a customer's open widget."""

    org: seed.Organisation
    agent: Browser
    agent_email: str
    customer: ClientConnection

    def path(self, rest: str = "") -> str:
        return f"/v1/organisations/{self.org.tenant_id}/conversations{rest}"


@pytest.fixture
async def desk(stack: Stack) -> AsyncIterator[Desk]:
    org = await seed.organisation(stack.services)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        agent = Browser(client)
        email, _ = await signed_up_and_enrolled(stack, agent)
        await stack.services.members.add(org.tenant_id, email, Role.AGENT, actor=seed.ACTOR)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as customer:
            await authenticate(customer, await seed.token_for(stack.services, org))
            yield Desk(org, agent, email, customer)


def _handoff(state: str) -> Any:
    return lambda frame: frame["type"] == "handoff" and frame["state"] == state


async def _asks_for_a_person(desk: Desk) -> str:
    await desk.customer.send(json.dumps({"type": "handoff"}))
    frame = (await receive_until(desk.customer, _handoff("queued")))[-1]
    waiting = (await desk.agent.send("GET", desk.path())).json()
    assert [c["status"] for c in waiting] == ["queued"]
    assert waiting[0]["end_user_id"] == "customer-1"
    assert waiting[0]["last_seq"] == frame["seq"]
    conversation_id: str = waiting[0]["conversation_id"]
    return conversation_id


async def test_an_agent_answers_a_waiting_customer_who_is_told_a_person_joined(
    desk: Desk, stack: Stack
) -> None:
    conversation_id = await _asks_for_a_person(desk)

    answer = await desk.agent.send(
        "POST", desk.path(f"/{conversation_id}/messages"), {"text": "Hello, I'm Ada."}
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["author"] == "agent"

    frames = await receive_until(desk.customer, lambda f: f["type"] == "message")
    assert [f["type"] for f in frames] == ["handoff", "message"]
    assert frames[0]["state"] == "agent_joined"
    assert (frames[1]["author"], frames[1]["text"]) == ("agent", "Hello, I'm Ada.")
    assert frames[1]["seq"] == frames[0]["seq"] + 1 == answer.json()["seq"]

    assert (await desk.agent.send("GET", desk.path())).json() == []
    (with_agent,) = (await desk.agent.send("GET", desk.path("?status=assigned"))).json()
    assert with_agent["conversation_id"] == conversation_id
    history = (await desk.agent.send("GET", desk.path(f"/{conversation_id}/messages"))).json()
    assert [(m["type"], m.get("state") or m.get("text")) for m in history] == [
        ("handoff", "queued"),
        ("handoff", "agent_joined"),
        ("message", "Hello, I'm Ada."),
    ]

    audited = await stack.services.audit.recent(desk.org.tenant_id, limit=5)
    account = await stack.services.accounts.by_email(desk.agent_email)
    assert account is not None
    by = {"type": "account", "id": account.account_id}
    assert [(e["action"], e["actor"]) for e in audited[:2]] == [
        ("conversation.agent_replied", by),
        ("conversation.taken", by),
    ]
    assert "Hello, I'm Ada." not in json.dumps(audited)


async def test_a_conversation_handed_back_is_answered_by_the_assistant_again(
    desk: Desk,
) -> None:
    conversation_id = await _asks_for_a_person(desk)
    await desk.agent.send("POST", desk.path(f"/{conversation_id}/messages"), {"text": "One sec."})
    await receive_until(desk.customer, lambda f: f["type"] == "message")

    returned = await desk.agent.send("POST", desk.path(f"/{conversation_id}/return"))
    assert returned.json() == {"returned": True}
    await receive_until(desk.customer, _handoff("returned_to_bot"))
    again = await desk.agent.send("POST", desk.path(f"/{conversation_id}/return"))
    assert again.json() == {"returned": False}

    await say(desk.customer, "What are your opening hours?")
    frames = await receive_until(desk.customer, is_assistant_message)
    assert "Monday to Friday" in frames[-1]["text"]


async def test_an_agent_may_take_a_conversation_from_the_assistant(
    desk: Desk, stack: Stack
) -> None:
    """No handoff asked: the agent's first reply takes the conversation all the same."""
    await say(desk.customer, "What are your opening hours?")
    await receive_until(desk.customer, is_assistant_message)
    assert (await desk.agent.send("GET", desk.path("?status=agent"))).json() == []
    # The customer's one conversation, with the assistant: not on the desk, but reachable.
    conversation_id = (
        await stack.services.chat.open_conversation(desk.org.tenant_id, "customer-1")
    ).conversation_id
    answer = await desk.agent.send(
        "POST", desk.path(f"/{conversation_id}/messages"), {"text": "I'll take it from here."}
    )
    assert answer.status_code == 201
    frames = await receive_until(desk.customer, lambda f: f["type"] == "message")
    assert [f.get("state") or f.get("text") for f in frames] == [
        "agent_joined",
        "I'll take it from here.",
    ]


async def test_the_desk_answers_bad_requests_with_the_one_error_shape(desk: Desk) -> None:
    conversation_id = await _asks_for_a_person(desk)
    reply = desk.path(f"/{conversation_id}/messages")
    assert_error_shape(await desk.agent.send("POST", reply, {"text": ""}), 422, "invalid_input")
    assert_error_shape(
        await desk.agent.send("POST", reply, {"text": "bell\x07"}), 422, "invalid_input"
    )
    assert_error_shape(
        await desk.agent.send("POST", desk.path("/no-such-conversation/messages"), {"text": "Hi"}),
        404,
        "not_found",
    )
    assert_error_shape(
        await desk.agent.send("GET", desk.path("/no-such-conversation/messages")),
        404,
        "not_found",
    )
    assert_error_shape(await desk.agent.send("GET", desk.path("?status=bot")), 422, "invalid_input")
    # Nothing was taken or said on the way.
    (waiting,) = (await desk.agent.send("GET", desk.path())).json()
    assert waiting["conversation_id"] == conversation_id


async def test_another_organisations_conversation_is_not_found_through_ones_own_routes(
    desk: Desk, stack: Stack
) -> None:
    """T-29: an agent of A names a conversation of B under A's own routes: it does not exist
    there, for reading, answering or handing back, and B's conversation is untouched."""
    other = await seed.organisation(stack.services, name="Other Bank", faq=None)
    theirs = await seed.with_a_person(stack.services, other)
    for method, rest, body in (
        ("GET", f"/{theirs}/messages", None),
        ("POST", f"/{theirs}/messages", {"text": "Hello from the wrong bank."}),
        ("POST", f"/{theirs}/return", None),
    ):
        assert_error_shape(await desk.agent.send(method, desk.path(rest), body), 404, "not_found")
    history = await stack.services.chat.history(other.tenant_id, theirs, after_seq=0, limit=9)
    assert [(m.author.value, m.body) for m in history] == [("system", "queued")]
    assert (await stack.services.chat.get_conversation(other.tenant_id, theirs)).status.value == (
        "queued"
    )


async def test_a_resolved_customer_who_writes_again_is_back_with_their_agent(
    desk: Desk, stack: Stack
) -> None:
    """The customer is told the conversation is resolved; their next message reopens it to the
    agent who had it, and they are told a person is with them."""
    conversation_id = await _asks_for_a_person(desk)
    taken = await desk.agent.send("POST", desk.path(f"/{conversation_id}/take"))
    account = await stack.services.accounts.by_email(desk.agent_email)
    assert account is not None
    assert (taken.json()["status"], taken.json()["assignee"]) == ("assigned", account.account_id)
    await receive_until(desk.customer, _handoff("agent_joined"))

    resolved = await desk.agent.send("POST", desk.path(f"/{conversation_id}/resolve"))
    assert resolved.json()["status"] == "resolved"
    await receive_until(desk.customer, _handoff("resolved"))
    assert (await desk.agent.send("GET", desk.path("?status=resolved"))).json()[0][
        "conversation_id"
    ] == conversation_id

    await say(desk.customer, "Sorry, one more question.")
    await receive_until(desk.customer, _handoff("agent_joined"))
    again = (await desk.agent.send("GET", desk.path(f"/{conversation_id}"))).json()
    assert (again["status"], again["assignee"]) == ("assigned", account.account_id)
    refused = await desk.agent.send("POST", desk.path(f"/{conversation_id}/reopen"))
    assert_error_shape(refused, 409, "conflict")


async def test_a_conversation_is_assigned_only_to_a_member_of_its_own_organisation(
    desk: Desk, stack: Stack
) -> None:
    """T-98: assigning to a member of another organisation answers 404, as for any account
    that is not a member here, and changes nothing."""
    conversation_id = await _asks_for_a_person(desk)
    other = await seed.organisation(stack.services, name="Other Bank", faq=None)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        theirs = Browser(client)
        email, _ = await signed_up_and_enrolled(stack, theirs)
    await stack.services.members.add(other.tenant_id, email, Role.AGENT, actor=seed.ACTOR)
    their_account = await stack.services.accounts.by_email(email)
    assert their_account is not None

    answer = await desk.agent.send(
        "PUT", desk.path(f"/{conversation_id}/assignee/{their_account.account_id}")
    )
    assert_error_shape(answer, 404, "not_found")
    unchanged = (await desk.agent.send("GET", desk.path(f"/{conversation_id}"))).json()
    assert (unchanged["status"], unchanged["assignee"]) == ("queued", None)

    mine = await stack.services.accounts.by_email(desk.agent_email)
    assert mine is not None
    given = await desk.agent.send(
        "PUT", desk.path(f"/{conversation_id}/assignee/{mine.account_id}")
    )
    assert (given.json()["status"], given.json()["assignee"]) == ("assigned", mine.account_id)
