"""The customer's side of the desk over a real socket when nobody is there (issue 22, T-101):
outside business hours the widget hears when someone will answer, leaves an address, gets the
agent's reply by e-mail (a real SMTP server) and finds it in the conversation on the next visit;
after a resolution it rates the conversation once."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from parlour.chat.customer_mail_repository import CustomerMailRepository
from parlour.identity.models import Role
from parlour.services import Services
from parlour.settings import IdentitySettings
from parlour.storage.tables import customer_mails, webhook_deliveries
from tests.chat.test_lifecycle import member
from tests.conftest import Stack, running_stack
from tests.support import seed
from tests.support.accounts import Browser, signed_up_and_enrolled
from tests.support.chat import authenticate, open_socket, receive, receive_until
from tests.support.clock import ManualClock
from tests.support.smtp import Relay, smtp_relay

AWAY = "ada@customer.example"


@pytest.fixture
def relay() -> Iterator[Relay]:
    with smtp_relay() as running:
        yield running


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 6, 3, 20, 0, tzinfo=UTC))  # a Wednesday evening


@pytest.fixture
async def mailing_stack(
    tmp_path: Path, sqlite_url: str, relay: Relay, clock: ManualClock
) -> AsyncIterator[Stack]:
    mailing = IdentitySettings(smtp_host="127.0.0.1", smtp_port=relay.port, smtp_security="none")
    async with running_stack(tmp_path, sqlite_url, clock=clock, identity=mailing) as stack:
        yield stack


async def mailed_to(relay: Relay, to: str, timeout: float = 10.0) -> str:
    """The body of the first mail `to` receives, waiting for it a bounded time (the server's own
    sender may take it before the test's)."""

    def found() -> bool:
        return any(r == [to] for r, _ in relay.messages())

    assert await asyncio.to_thread(relay.wait_for, found, timeout)
    body: str = next(m for r, m in relay.messages() if r == [to]).get_content()
    return body


async def test_t101_offline_an_address_left_gets_the_reply_by_mail_and_on_the_next_visit(
    mailing_stack: Stack, relay: Relay, clock: ManualClock
) -> None:
    """T-101, offline e-mail end to end: the widget is told it is closed, with the reply time
    and the next opening; the customer leaves an address and goes; an agent replies; the mail
    arrives at the SMTP server; the reply is in the conversation when the customer reconnects."""
    stack = mailing_stack
    services = stack.services
    org = await seed.organisation(services, faq=None)
    # Weekdays 09:00-17:00 UTC, and closed tomorrow (Thursday): next opening Friday 09:00.
    await services.business_hours.set(
        org.tenant_id,
        [(day, "09:00", "17:00") for day in range(5)],
        ["2026-06-04"],
        "within 4 hours",
        actor=seed.ACTOR,
    )
    conversation_id = await seed.with_a_person(services, org)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        ready = await authenticate(ws, await seed.token_for(services, org))
        told = (await receive_until(ws, lambda f: f["type"] == "availability"))[-1]
        assert told == {
            "type": "availability",
            "open": False,
            "reason": "closed",
            "reply_time": "within 4 hours",
            "next_open_at": "2026-06-05T09:00:00Z",
            "email_known": False,
        }
        await ws.send(json.dumps({"type": "contact", "email": "ada@customer\r\nBcc: x@y.z"}))
        refused = await receive(ws)
        assert (refused["type"], refused["code"]) == ("error", "invalid_email")
        await ws.send(json.dumps({"type": "contact", "email": AWAY}))
        assert await receive(ws) == {"type": "contact_saved"}
        # The transcript goes only where the customer's identity or conversation says.
        await ws.send(json.dumps({"type": "transcript", "email": "thief@evil.example"}))
        assert (await receive(ws))["code"] == "bad_frame"
    agent = await member(services, org.tenant_id)
    reply = await services.desk.reply(
        org.tenant_id, conversation_id, "We have unblocked your card.", actor=agent
    )
    clock.advance(timedelta(minutes=3))
    await services.customer_mail.send_due()
    assert "We have unblocked your card." in await mailed_to(relay, AWAY)
    # The next visit, resuming where the last one stopped: the reply is there.
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(services, org), last_seq=ready["last_seq"])
        frames = await receive_until(ws, lambda f: f.get("seq") == reply.seq)
        assert frames[-1]["author"] == "agent"
        assert frames[-1]["text"] == "We have unblocked your card."
        told = (await receive_until(ws, lambda f: f["type"] == "availability"))[-1]
        assert told["email_known"] is True


async def test_within_business_hours_the_widget_hears_nothing_new(
    mailing_stack: Stack, clock: ManualClock
) -> None:
    services = mailing_stack.services
    org = await seed.organisation(services, faq=None)
    now = clock.now()
    await services.business_hours.set(
        org.tenant_id,
        [(now.weekday(), (now - timedelta(hours=1)).strftime("%H:%M"), "23:59")],
        [],
        "within the hour",
        actor=seed.ACTOR,
    )
    assert time(19) <= now.time() < time(23)
    await seed.with_a_person(services, org)
    async with open_socket(mailing_stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(services, org))
        handoff = await receive(ws)
        assert handoff["type"] == "handoff"
        await ws.send(json.dumps({"type": "ack", "seq": handoff["seq"]}))
        await ws.send(json.dumps({"type": "typing", "state": True}))
        await ws.send(json.dumps({"type": "rate", "score": 4}))
        # The next frame is the answer to the rating, not an availability notice.
        refused = await receive(ws)
        assert (refused["type"], refused["code"]) == ("error", "not_resolved")


async def test_a_resolved_conversation_is_rated_once_with_the_agent_who_had_it(
    mailing_stack: Stack,
) -> None:
    """The widget rates after the resolution; a second rating of it is refused; the score goes
    to the organisation's webhook as `conversation.rated`, the comment never does; the desk's
    moves owe `conversation.assigned` and `conversation.resolved` with them."""
    services = mailing_stack.services
    org = await seed.organisation(services, faq=None)
    await services.webhook_endpoints.add(
        org.tenant_id,
        url="http://127.0.0.1:9/hooks",
        events=("conversation.assigned", "conversation.resolved", "conversation.rated"),
        actor=seed.ACTOR,
    )
    conversation_id = await seed.with_a_person(services, org)
    agent = await member(services, org.tenant_id)
    await services.desk.take(org.tenant_id, conversation_id, actor=agent)
    # Resolved by the test's services (a broker of their own): the socket reads it as history.
    await services.desk.resolve(org.tenant_id, conversation_id, actor=agent)
    async with open_socket(mailing_stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, await seed.token_for(services, org))
        await receive_until(ws, lambda f: f.get("state") == "resolved")
        secret_comment = "Lovely, thanks Bo"
        await ws.send(json.dumps({"type": "rate", "score": 5, "comment": secret_comment}))
        assert await receive(ws) == {"type": "rated", "score": 5}
        await ws.send(json.dumps({"type": "rate", "score": 1}))
        again = await receive(ws)
        assert (again["type"], again["code"]) == ("error", "already_rated")
    async with services.db.read(org.tenant_id) as conn:
        rows = (
            await conn.execute(
                select(webhook_deliveries.c.event, webhook_deliveries.c.payload).where(
                    webhook_deliveries.c.tenant_id == org.tenant_id
                )
            )
        ).all()
    events = sorted(event for event, _ in rows)
    assert events == ["conversation.assigned", "conversation.rated", "conversation.resolved"]
    (rated,) = [json.loads(p) for e, p in rows if e == "conversation.rated"]
    assert rated["data"]["score"] == 5
    assert rated["data"]["agent_id"] == agent.id
    assert secret_comment not in json.dumps(rated)
    period = await services.reports.period(org.tenant_id)
    people = await services.reports.people(org.tenant_id, period)
    assert people.ratings.count == 1
    assert [(a.account_id, a.ratings.average) for a in people.ratings_by_agent] == [(agent.id, 5)]


async def test_a_reply_the_customer_reads_live_is_not_mailed(stack: Stack) -> None:
    """The customer is there: the agent's reply (through the API, so the server tells the
    socket) reaches the widget, whose ack moves the owed reply mail past it."""
    services = stack.services
    org = await seed.organisation(services, faq=None)
    conversation_id = await seed.with_a_person(services, org)
    await services.customer_mail.leave_address(org.tenant_id, conversation_id, AWAY)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        agent = Browser(client)
        email, _codes = await signed_up_and_enrolled(stack, agent)
        await services.members.add(org.tenant_id, email, Role.AGENT, actor=seed.ACTOR)
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
            await authenticate(ws, await seed.token_for(services, org))
            await receive(ws)  # the handoff that queued it
            path = f"/v1/organisations/{org.tenant_id}/conversations/{conversation_id}/messages"
            answer = await agent.send("POST", path, {"text": "Here now."})
            assert answer.status_code == 201
            assert await owed(services, org.tenant_id) == ["reply"]
            reply = (await receive_until(ws, lambda f: f.get("author") == "agent"))[-1]
            await ws.send(json.dumps({"type": "ack", "seq": reply["seq"]}))
            await ws.send(json.dumps({"type": "rate", "score": 3}))  # a frame to answer after it
            assert (await receive(ws))["code"] == "not_resolved"
    # Still owed, but only from after what the customer read: unless another reply follows
    # before it is due, it has nothing to say and is dropped unsent.
    async with services.db.read() as conn:
        rows = await conn.execute(
            select(customer_mails.c.kind, customer_mails.c.seq).where(
                customer_mails.c.tenant_id == org.tenant_id
            )
        )
        assert [tuple(r) for r in rows] == [("reply", reply["seq"] + 1)]


async def owed(services: Services, tenant_id: str) -> list[str]:
    async with services.db.read() as conn:
        return await CustomerMailRepository(conn).pending(tenant_id)


async def test_members_read_each_rating_with_its_comment_through_the_api(stack: Stack) -> None:
    services = stack.services
    org = await seed.organisation(services, faq=None)
    conversation_id = await seed.with_a_person(services, org)
    agent = await member(services, org.tenant_id)
    await services.desk.take(org.tenant_id, conversation_id, actor=agent)
    await services.desk.resolve(org.tenant_id, conversation_id, actor=agent)
    await services.ratings.rate(org.tenant_id, conversation_id, 2, "Slow, but kind")
    async with httpx.AsyncClient(base_url=stack.url) as client:
        analyst = Browser(client)
        email, _codes = await signed_up_and_enrolled(stack, analyst)
        await services.members.add(org.tenant_id, email, Role.ANALYST, actor=seed.ACTOR)
        path = f"/v1/organisations/{org.tenant_id}/conversations/{conversation_id}/ratings"
        answer = await analyst.send("GET", path)
        missing = await analyst.send("GET", path.replace(conversation_id, "no-such-one"))
    assert answer.status_code == 200
    (rating,) = answer.json()
    assert (rating["score"], rating["comment"], rating["agent_id"]) == (
        2,
        "Slow, but kind",
        agent.id,
    )
    assert missing.status_code == 404
