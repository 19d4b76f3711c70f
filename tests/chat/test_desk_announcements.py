"""Where conversations change, the organisation's desk channel is told (docs/desk.md): created,
every move (queued, taken, pending, snoozed, resolved, handed back), the wakings (a customer
writing in a waiting conversation, a snooze running out), messages stored by number, typing
and members' read marks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from parlour.chat.desk_events import (
    ConversationChanged,
    DeskEvent,
    DeskRead,
    DeskTyping,
    MessageNoted,
)
from parlour.chat.models import Author, ConversationStatus, Resync
from parlour.services import Services
from tests.chat.test_lifecycle import member
from tests.conftest import migrated_services
from tests.support.clock import SetClock
from tests.support.seed import ACTOR


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))


@pytest.fixture
async def services(tmp_path: Path, database_url: str, clock: SetClock) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, database_url, clock=clock) as built:
        yield built


@asynccontextmanager
async def desk(services: Services, tenant_id: str) -> AsyncIterator[list[DeskEvent | Resync]]:
    heard: list[DeskEvent | Resync] = []
    stop = await services.broker.listen_desk(tenant_id, heard.append)
    try:
        yield heard
    finally:
        stop()


def moves(heard: list[DeskEvent | Resync]) -> list[tuple[str, str | None]]:
    return [(e.status, e.assignee) for e in heard if isinstance(e, ConversationChanged)]


async def test_every_change_of_a_conversation_reaches_its_organisations_desk(
    services: Services, clock: SetClock
) -> None:
    tenant = await services.tenants.create("Desk Bank", actor=ACTOR)
    other = await services.tenants.create("Other Bank", actor=ACTOR)
    tenant_id = tenant.tenant_id
    ada = await member(services, tenant_id)
    async with desk(services, tenant_id) as heard, desk(services, other.tenant_id) as elsewhere:
        conversation = await services.chat.open_conversation(tenant_id, "customer-1")
        cid = conversation.conversation_id
        await services.chat.request_handoff(tenant_id, cid)
        await services.desk.take(tenant_id, cid, actor=ada)
        await services.desk.set_pending(tenant_id, cid, actor=ada)
        await services.chat.post_user_message(tenant_id, cid, client_id="c1", text="Still there?")
        await services.desk.snooze(tenant_id, cid, clock.now + timedelta(hours=1), actor=ada)
        clock.advance(hours=2)
        await services.desk.conversations(tenant_id, ConversationStatus.SNOOZED, limit=10)
        await services.desk.resolve(tenant_id, cid, actor=ada)
        await services.chat.set_typing(tenant_id, cid, Author.AGENT, True, account_id=ada.id)
        await services.chat.mark_read(tenant_id, cid, Author.AGENT, 3, account_id=ada.id)
    created = heard[0]
    assert isinstance(created, ConversationChanged)
    assert (created.created, created.status, created.end_user_id) == (True, "bot", "customer-1")
    assert moves(heard) == [
        ("bot", None),
        ("queued", None),
        ("assigned", ada.id),
        ("pending", ada.id),
        ("assigned", ada.id),  # the customer wrote: back to their person
        ("snoozed", ada.id),
        ("assigned", ada.id),  # the snooze ran out
        ("resolved", ada.id),
    ]
    stored = [e for e in heard if isinstance(e, MessageNoted)]
    assert [(e.seq, e.author, e.kind) for e in stored] == [
        (1, "system", "handoff"),
        (2, "system", "handoff"),
        (3, "user", "text"),
        (4, "system", "handoff"),
    ]
    assert DeskTyping(cid, "agent", True, ada.id) in heard
    assert DeskRead(cid, ada.id, 3) in heard
    assert all(getattr(e, "conversation_id", cid) == cid for e in heard)
    assert elsewhere == []


async def test_a_conversation_put_in_a_team_is_told_to_the_desk_with_its_team(
    services: Services,
) -> None:
    tenant_id = (await services.tenants.create("Desk Bank", actor=ACTOR)).tenant_id
    ada = await member(services, tenant_id)
    team = await services.teams.create(tenant_id, "Cards", actor=ACTOR)
    await services.teams.add_member(tenant_id, team.team_id, ada.id, actor=ACTOR)
    conversation_id = (await services.chat.open_conversation(tenant_id, "c1")).conversation_id
    await services.chat.request_handoff(tenant_id, conversation_id)
    async with desk(services, tenant_id) as heard:
        await services.teams.place(tenant_id, conversation_id, team.team_id, actor=ada)
    [placed] = [e for e in heard if isinstance(e, ConversationChanged)]
    assert (placed.conversation_id, placed.status, placed.team_id) == (
        conversation_id,
        "queued",
        team.team_id,
    )
    assert placed.frame()["team_id"] == team.team_id


async def test_a_snoozed_conversation_that_wakes_into_the_queue_is_offered_to_an_available_agent(
    services: Services, clock: SetClock
) -> None:
    tenant_id = (await services.tenants.create("Desk Bank", actor=ACTOR)).tenant_id
    ada = await member(services, tenant_id)
    conversation_id = (await services.chat.open_conversation(tenant_id, "c1")).conversation_id
    await services.chat.request_handoff(tenant_id, conversation_id)
    await services.desk.snooze(tenant_id, conversation_id, clock() + timedelta(hours=1), actor=ada)
    await services.auto_assignment.configure(
        tenant_id, enabled=True, default_capacity=2, actor=ACTOR
    )
    await services.presence.connected(tenant_id, ada.id)
    clock.advance(hours=2)
    assert await services.chat.wake(tenant_id) == 1
    woken = await services.chat.get_conversation(tenant_id, conversation_id)
    assert (woken.status, woken.assignee) == (ConversationStatus.ASSIGNED, ada.id)
