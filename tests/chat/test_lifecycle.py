"""A conversation's life: every move a compare-and-set stored with its announcement, so racing
moves end in one state the customer was told of in order (T-100); a customer's message reopens
what waits or was resolved; a snoozed conversation wakes at its time."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parlour.audit.events import Actor, ActorType
from parlour.chat.lifecycle import ANNOUNCED
from parlour.chat.models import Author, ConversationStatus, MessageKind
from parlour.errors import Conflict
from parlour.identity.models import Role
from parlour.services import Services, build_services
from tests.conftest import migrated_services
from tests.support.accounts import PASSWORD
from tests.support.clock import SetClock
from tests.support.seed import ACTOR

S = ConversationStatus
ROUNDS = 50


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))


@pytest.fixture
async def services(tmp_path: Path, sqlite_url: str, clock: SetClock) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, sqlite_url, clock=clock) as built:
        yield built


@pytest.fixture
async def two_nodes(
    tmp_path: Path, database_url: str, clock: SetClock
) -> AsyncIterator[tuple[Services, Services]]:
    """Two nodes on PostgreSQL, each with its own writer and connections; on SQLite, which
    one node serves (its writes in one process), that node twice."""
    async with migrated_services(tmp_path, database_url, clock=clock) as first:
        if first.db.is_sqlite:
            yield first, first
            return
        second = build_services(first.settings, clock=clock)
        try:
            yield first, second
        finally:
            await second.aclose()


async def member(services: Services, tenant_id: str, role: Role = Role.AGENT) -> Actor:
    email = f"member-{secrets.token_hex(4)}@example.com"
    await services.signup.sign_up(email, PASSWORD, "A member", source_ip=None)
    await services.members.add(tenant_id, email, role, actor=ACTOR)
    account = await services.accounts.by_email(email)
    assert account is not None
    return Actor(ActorType.ACCOUNT, account.account_id)


async def new_conversation(services: Services, tenant_id: str) -> str:
    customer = f"customer-{secrets.token_hex(4)}"
    return (await services.chat.open_conversation(tenant_id, customer)).conversation_id


async def assert_told_in_order(services: Services, tenant_id: str, conversation_id: str) -> None:
    """The conversation's numbers run without a gap (a refused move gave its number back), and
    its latest announcement is its status's."""
    conversation = await services.chat.get_conversation(tenant_id, conversation_id)
    history = await services.chat.history(tenant_id, conversation_id, after_seq=0, limit=500)
    assert [m.seq for m in history] == list(range(1, conversation.last_seq + 1))
    told = [m.body for m in history if m.kind is MessageKind.HANDOFF]
    if conversation.status in ANNOUNCED:
        assert told[-1] == ANNOUNCED[conversation.status].value, (conversation, told)


async def test_a_handoff_request_racing_an_agents_first_reply_ends_with_the_agent(
    two_nodes: tuple[Services, Services],
) -> None:
    """T-100: the race of issue 4. The customer asks for a person on one node while an agent's
    first reply takes the conversation on another, many times on both backends: it always ends
    with the agent, who was announced before their reply and never queued after it, with the
    reply stored once."""
    customer_side, desk_side = two_nodes
    tenant = await customer_side.tenants.create("Race Bank", actor=ACTOR)
    agent = await member(customer_side, tenant.tenant_id)
    for _ in range(ROUNDS):
        conversation_id = await new_conversation(customer_side, tenant.tenant_id)
        _, reply = await asyncio.gather(
            customer_side.chat.request_handoff(tenant.tenant_id, conversation_id),
            desk_side.desk.reply(tenant.tenant_id, conversation_id, "Hello", actor=agent),
        )
        after = await customer_side.chat.get_conversation(tenant.tenant_id, conversation_id)
        assert (after.status, after.assignee) == (S.ASSIGNED, agent.id)
        history = await customer_side.chat.history(
            tenant.tenant_id, conversation_id, after_seq=0, limit=10
        )
        told = [m.body for m in history if m.kind is MessageKind.HANDOFF]
        assert told in (["queued", "agent_joined"], ["agent_joined"])
        joined = next(m.seq for m in history if m.body == "agent_joined")
        assert [m.seq for m in history if m.author is Author.AGENT] == [reply.seq]
        assert joined < reply.seq
        await assert_told_in_order(customer_side, tenant.tenant_id, conversation_id)


async def test_an_assignment_racing_a_hand_back_ends_in_one_of_them_as_told(
    two_nodes: tuple[Services, Services],
) -> None:
    """T-100: an admin assigns a conversation to a colleague while its agent hands it back to
    the assistant, on two nodes: it ends with the colleague or with the assistant, never with a
    person and no announcement of them, nor with the assistant and a person assigned."""
    one, other = two_nodes
    tenant = await one.tenants.create("Race Bank", actor=ACTOR)
    agent, colleague = await member(one, tenant.tenant_id), await member(one, tenant.tenant_id)
    ends = set()
    for _ in range(ROUNDS):
        conversation_id = await new_conversation(one, tenant.tenant_id)
        await one.desk.take(tenant.tenant_id, conversation_id, actor=agent)
        outcomes = await asyncio.gather(
            one.desk.assign(tenant.tenant_id, conversation_id, colleague.id, actor=agent),
            other.desk.return_to_assistant(tenant.tenant_id, conversation_id, actor=agent),
            return_exceptions=True,
        )
        assert not any(isinstance(o, Exception) and not isinstance(o, Conflict) for o in outcomes)
        after = await one.chat.get_conversation(tenant.tenant_id, conversation_id)
        assert (after.status, after.assignee) in ((S.ASSIGNED, colleague.id), (S.BOT, None))
        ends.add(after.status)
        await assert_told_in_order(one, tenant.tenant_id, conversation_id)
    assert ends <= {S.ASSIGNED, S.BOT}


async def test_two_people_taking_the_same_conversation_never_both_have_it(
    two_nodes: tuple[Services, Services],
) -> None:
    """T-100: no double assignment. Two agents assign a waiting conversation to themselves at
    once, on two nodes: one has it, the other is refused, and the customer is told once."""
    one, other = two_nodes
    tenant = await one.tenants.create("Race Bank", actor=ACTOR)
    ada, bo = await member(one, tenant.tenant_id), await member(one, tenant.tenant_id)
    for _ in range(ROUNDS):
        conversation_id = await new_conversation(one, tenant.tenant_id)
        await one.chat.request_handoff(tenant.tenant_id, conversation_id)
        outcomes = await asyncio.gather(
            one.desk.take(tenant.tenant_id, conversation_id, actor=ada),
            other.desk.take(tenant.tenant_id, conversation_id, actor=bo),
            return_exceptions=True,
        )
        refused = [o for o in outcomes if isinstance(o, Conflict)]
        assert len(refused) == 1, outcomes
        after = await one.chat.get_conversation(tenant.tenant_id, conversation_id)
        winner = ada if outcomes[1] is refused[0] else bo
        assert (after.status, after.assignee) == (S.ASSIGNED, winner.id)
        history = await one.chat.history(tenant.tenant_id, conversation_id, after_seq=0, limit=9)
        assert [m.body for m in history] == ["queued", "agent_joined"]


async def test_a_customers_message_brings_a_resolved_conversation_back_to_its_person(
    services: Services,
) -> None:
    tenant = await services.tenants.create("Reopen Bank", actor=ACTOR)
    agent = await member(services, tenant.tenant_id)
    conversation_id = await new_conversation(services, tenant.tenant_id)
    await services.desk.reply(tenant.tenant_id, conversation_id, "Hello", actor=agent)
    await services.desk.resolve(tenant.tenant_id, conversation_id, actor=agent)

    appended = await services.chat.post_user_message(
        tenant.tenant_id, conversation_id, client_id="c-1", text="One more thing"
    )
    assert appended.status is S.ASSIGNED  # the assistant stays quiet
    after = await services.chat.get_conversation(tenant.tenant_id, conversation_id)
    assert (after.status, after.assignee) == (S.ASSIGNED, agent.id)
    history = await services.chat.history(tenant.tenant_id, conversation_id, after_seq=0, limit=9)
    assert [m.body for m in history] == [
        "agent_joined",
        "Hello",
        "resolved",
        "One more thing",
        "agent_joined",
    ]


async def test_a_resolved_conversation_nobody_had_goes_back_to_the_assistant(
    services: Services,
) -> None:
    """Resolved from the queue with nobody assigned: the customer's next message is the
    assistant's to answer (it offers a person, as always)."""
    tenant = await services.tenants.create("Reopen Bank", actor=ACTOR)
    agent = await member(services, tenant.tenant_id)
    conversation_id = await new_conversation(services, tenant.tenant_id)
    await services.chat.request_handoff(tenant.tenant_id, conversation_id)
    await services.desk.resolve(tenant.tenant_id, conversation_id, actor=agent)

    appended = await services.chat.post_user_message(
        tenant.tenant_id, conversation_id, client_id="c-1", text="Hello again"
    )
    assert appended.status is S.BOT
    after = await services.chat.get_conversation(tenant.tenant_id, conversation_id)
    assert (after.status, after.assignee) == (S.BOT, None)
    await assert_told_in_order(services, tenant.tenant_id, conversation_id)


async def test_a_customers_message_brings_pending_and_snoozed_conversations_back_unannounced(
    services: Services, clock: SetClock
) -> None:
    tenant = await services.tenants.create("Reopen Bank", actor=ACTOR)
    agent = await member(services, tenant.tenant_id)
    waiting = await new_conversation(services, tenant.tenant_id)
    await services.desk.reply(tenant.tenant_id, waiting, "Could you send the receipt?", actor=agent)
    await services.desk.set_pending(tenant.tenant_id, waiting, actor=agent)
    queued = await new_conversation(services, tenant.tenant_id)
    await services.chat.request_handoff(tenant.tenant_id, queued)
    await services.desk.snooze(tenant.tenant_id, queued, clock.now + timedelta(days=1), actor=agent)

    for conversation_id in (waiting, queued):
        await services.chat.post_user_message(
            tenant.tenant_id, conversation_id, client_id="c-1", text="Here it is"
        )
    assert (await services.chat.get_conversation(tenant.tenant_id, waiting)).status is S.ASSIGNED
    woken = await services.chat.get_conversation(tenant.tenant_id, queued)
    assert (woken.status, woken.snoozed_until) == (S.QUEUED, None)
    history = await services.chat.history(tenant.tenant_id, waiting, after_seq=0, limit=9)
    assert [m.kind for m in history].count(MessageKind.HANDOFF) == 1  # the person joining


async def test_a_snoozed_conversation_wakes_at_its_time_when_the_desk_lists(
    services: Services, clock: SetClock
) -> None:
    tenant = await services.tenants.create("Snooze Bank", actor=ACTOR)
    agent = await member(services, tenant.tenant_id)
    conversation_id = await new_conversation(services, tenant.tenant_id)
    await services.desk.take(tenant.tenant_id, conversation_id, actor=agent)
    until = clock.now + timedelta(hours=2)
    snoozed = await services.desk.snooze(tenant.tenant_id, conversation_id, until, actor=agent)
    assert (snoozed.status, snoozed.snoozed_until) == (S.SNOOZED, until)

    clock.advance(hours=1, minutes=59)
    assert await services.desk.conversations(tenant.tenant_id, S.ASSIGNED, limit=10) == []
    clock.advance(minutes=1)
    (woken,) = await services.desk.conversations(tenant.tenant_id, S.ASSIGNED, limit=10)
    assert (woken.conversation_id, woken.assignee, woken.snoozed_until) == (
        conversation_id,
        agent.id,
        None,
    )
    assert await services.desk.conversations(tenant.tenant_id, S.SNOOZED, limit=10) == []


async def test_requests_for_a_person_written_together_queue_the_conversation_once(
    two_nodes: tuple[Services, Services],
) -> None:
    """T-100: moves in one batch of the writer are made in arrival order; the refused one
    stores no announcement and gives its number back, so the next message takes it."""
    services, _ = two_nodes
    tenant = await services.tenants.create("Batch Bank", actor=ACTOR)
    conversation_id = await new_conversation(services, tenant.tenant_id)
    asked = await asyncio.gather(
        *(services.chat.request_handoff(tenant.tenant_id, conversation_id) for _ in range(3)),
        services.chat.post_user_message(
            tenant.tenant_id, conversation_id, client_id="c-1", text="Anyone there?"
        ),
    )
    assert sum(1 for a in asked[:3] if a is not None) == 1
    history = await services.chat.history(tenant.tenant_id, conversation_id, after_seq=0, limit=9)
    assert sorted(m.body for m in history) == ["Anyone there?", "queued"]
    await assert_told_in_order(services, tenant.tenant_id, conversation_id)
