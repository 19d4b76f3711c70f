"""Private notes over HTTP, against the customer's side (T-99): an agent's note is listed for
the organisation's people and reaches the customer by no path: not in the widget's live frames,
not in its history on resume, not in the conversation's messages (what transcripts are made
of), not in a webhook's payload; a customer's client asking for notes gets an error and
nothing else; another organisation's agent can neither read nor write them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from parlour.identity.models import Role
from parlour.webhooks.models import EVENTS
from tests.conftest import Stack
from tests.support import canaries, seed
from tests.support.accounts import Browser, signed_up_and_enrolled
from tests.support.chat import authenticate, open_socket, receive, receive_until, say
from tests.support.webhook_receiver import Receiver, webhook_receiver
from tests.web.api.test_conversations import Desk, _asks_for_a_person, desk  # noqa: F401
from tests.web.test_errors import assert_error_shape

Frame = dict[str, Any]


def _message(text: str) -> Any:
    return lambda frame: frame["type"] == "message" and frame.get("text") == text


async def _reply(at: Desk, conversation_id: str, text: str) -> None:
    answer = await at.agent.send("POST", at.path(f"/{conversation_id}/messages"), {"text": text})
    assert answer.status_code == 201, answer.text


async def _note(at: Desk, conversation_id: str, text: str) -> Frame:
    written = await at.agent.send("POST", at.path(f"/{conversation_id}/notes"), {"text": text})
    assert written.status_code == 201, written.text
    note: Frame = written.json()
    return note


async def _a_conversation_with_a_note_between_replies(at: Desk) -> tuple[str, str, list[Frame]]:
    """The customer asks for a person; the agent answers, writes a note, answers again. The
    conversation, the note's text, and every frame the customer's socket got meanwhile."""
    conversation_id = await _asks_for_a_person(at)
    secret = canaries.register("Customer is on the fraud watchlist NOTE8812")
    await _reply(at, conversation_id, "Hello, I'm Ada.")
    await _note(at, conversation_id, secret)
    await _reply(at, conversation_id, "After the note.")
    frames = await receive_until(at.customer, _message("After the note."))
    return conversation_id, secret, frames


async def test_t99_a_note_never_reaches_the_widgets_frames_or_its_history_on_resume(
    desk: Desk,  # noqa: F811
    stack: Stack,
) -> None:
    """T-99: the customer's live socket carries the replies on either side of the note and not
    the note; a second socket resuming from the start is sent the whole history, without it;
    the note is listed for the agent all the same."""
    conversation_id, secret, live = await _a_conversation_with_a_note_between_replies(desk)
    assert [f.get("text") for f in live if f["type"] == "message"] == [
        "Hello, I'm Ada.",
        "After the note.",
    ]
    assert "NOTE8812" not in json.dumps(live)

    async with open_socket(stack.ws_url, desk.org.widget_id, desk.org.origin) as again:
        ready = await authenticate(again, await seed.token_for(stack.services, desk.org), 0)
        resumed = await receive_until(again, lambda f: f.get("seq") == ready["last_seq"])
    assert [f["seq"] for f in resumed] == list(range(1, ready["last_seq"] + 1))
    assert "NOTE8812" not in json.dumps([ready, *resumed])

    listed = (await desk.agent.send("GET", desk.path(f"/{conversation_id}/notes"))).json()
    assert [n["text"] for n in listed] == [secret]


async def test_t99_a_note_is_in_no_transcript_nor_the_conversations_messages(
    desk: Desk,  # noqa: F811
    stack: Stack,
) -> None:
    """T-99: the conversation's messages, as `ChatService.history` gives them (whatever a
    transcript is made of) and as the desk's own messages route lists them, hold no note."""
    conversation_id, _secret, _ = await _a_conversation_with_a_note_between_replies(desk)
    tenant_id = desk.org.tenant_id
    history = await stack.services.chat.history(tenant_id, conversation_id, after_seq=0, limit=99)
    assert [m.body for m in history if m.kind.value == "text"] == [
        "Hello, I'm Ada.",
        "After the note.",
    ]
    assert all("NOTE8812" not in m.body for m in history)
    listed = await desk.agent.send("GET", desk.path(f"/{conversation_id}/messages"))
    assert "NOTE8812" not in listed.text


async def _deliveries_until(receiver: Receiver, text: str) -> list[str]:
    """The bodies the receiver got, once one of them carries `text` (bounded)."""
    async with asyncio.timeout(20):
        while not any(text in r.body.decode() for r in receiver.at("/hook")):
            receiver.arrived.clear()
            await asyncio.to_thread(receiver.arrived.wait, 1)
    return [r.body.decode() for r in receiver.at("/hook")]


async def test_t99_a_note_is_in_no_webhook_payload(
    desk: Desk,  # noqa: F811
    stack: Stack,
) -> None:
    """T-99: an endpoint hearing every event gets the replies on either side of the note, the
    handoffs, and nothing of the note."""
    with webhook_receiver() as receiver:
        await stack.services.webhook_endpoints.add(
            desk.org.tenant_id, url=f"{receiver.url}/hook", events=EVENTS, actor=seed.ACTOR
        )
        await _a_conversation_with_a_note_between_replies(desk)
        bodies = await _deliveries_until(receiver, "After the note.")
    events = [json.loads(body)["type"] for body in bodies]
    assert {"message.created", "conversation.handoff"} <= set(events)
    assert all("NOTE8812" not in body for body in bodies)


async def test_t99_a_customers_client_that_asks_for_notes_gets_an_error_and_nothing_else(
    desk: Desk,  # noqa: F811
) -> None:
    """T-99: whatever frame a customer's client tries for notes is refused as a bad frame, the
    socket stays open, and its next message is answered with no note anywhere."""
    await _a_conversation_with_a_note_between_replies(desk)
    tries: list[Frame] = [
        {"type": "notes"},
        {"type": "note"},
        {"type": "history", "notes": True},
        {"type": "ack", "seq": 1, "notes": True},
        {"type": "auth", "token": "x", "include": "notes"},
    ]
    answers = []
    for frame in tries:
        await desk.customer.send(json.dumps(frame))
        answers.append(await receive(desk.customer))
    assert [(a["type"], a["code"]) for a in answers] == [("error", "bad_frame")] * len(tries)
    await say(desk.customer, "Still there?")
    accepted = await receive_until(desk.customer, lambda f: f["type"] == "accepted")
    assert "NOTE8812" not in json.dumps([*answers, *accepted])


async def test_t99_another_organisations_agent_can_neither_read_nor_write_its_notes(
    desk: Desk,  # noqa: F811
    stack: Stack,
) -> None:
    """T-99, T-98: B's agent naming A's conversation under B's routes finds no conversation;
    under A's routes, no organisation; either way 404, and A's notes are unchanged."""
    conversation_id, secret, _ = await _a_conversation_with_a_note_between_replies(desk)
    other = await seed.organisation(stack.services, name="Other Bank", faq=None)
    theirs = Browser(desk.agent.client)
    email, _ = await signed_up_and_enrolled(stack, theirs)
    await stack.services.members.add(other.tenant_id, email, Role.AGENT, actor=seed.ACTOR)
    for org in (other.tenant_id, desk.org.tenant_id):
        notes = f"/v1/organisations/{org}/conversations/{conversation_id}/notes"
        read = await theirs.send("GET", notes)
        assert_error_shape(read, 404, "not_found")
        assert "NOTE8812" not in read.text
        written = await theirs.send("POST", notes, {"text": "Planted."})
        assert_error_shape(written, 404, "not_found")
    listed = await stack.services.notes.latest(desk.org.tenant_id, conversation_id)
    assert [n.body for n in listed] == [secret]
