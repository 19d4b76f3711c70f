"""A conversation's moments with people, kept on its row as they happen, for reports to time
without reading a message."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from parlour.audit.events import Actor, ActorType
from parlour.services import Services
from parlour.storage.tables import conversations
from tests.conftest import migrated_services
from tests.support.clock import SetClock
from tests.support.seed import ACTOR

AGENT = Actor(ActorType.ACCOUNT, "account-of-agent-ada")


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 5, 4, 10, 0, tzinfo=UTC))


@pytest.fixture
async def services(tmp_path: Path, database_url: str, clock: SetClock) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, database_url, clock=clock) as built:
        yield built


async def moments(services: Services, tenant_id: str, conversation_id: str) -> dict[str, Any]:
    c = conversations.c
    async with services.db.read(tenant_id) as conn:
        row = (
            await conn.execute(
                select(
                    c.handed_at,
                    c.first_human_reply_at,
                    c.human_account_id,
                    c.resolved_at,
                    c.last_turn_outcome,
                ).where(c.tenant_id == tenant_id, c.conversation_id == conversation_id)
            )
        ).one()
    return dict(row._mapping)


async def test_handover_first_reply_and_return_are_recorded_once_each(
    services: Services, clock: SetClock
) -> None:
    tenant = await services.tenants.create("Moments Bank", actor=ACTOR)
    conversation = await services.chat.open_conversation(tenant.tenant_id, "customer-1")
    asked = clock.advance(minutes=1)
    await services.chat.request_handoff(tenant.tenant_id, conversation.conversation_id)
    answered = clock.advance(minutes=4)
    await services.desk.reply(tenant.tenant_id, conversation.conversation_id, "Hello", actor=AGENT)
    clock.advance(minutes=2)
    other = Actor(ActorType.ACCOUNT, "account-of-agent-bo")
    await services.desk.reply(tenant.tenant_id, conversation.conversation_id, "More", actor=other)
    resolved = clock.advance(minutes=3)
    await services.desk.return_to_assistant(
        tenant.tenant_id, conversation.conversation_id, actor=other
    )

    assert await moments(services, tenant.tenant_id, conversation.conversation_id) == {
        "handed_at": asked,
        "first_human_reply_at": answered,
        "human_account_id": "account-of-agent-ada",
        "resolved_at": resolved,
        "last_turn_outcome": None,
    }


async def test_a_person_who_takes_a_conversation_from_the_assistant_hands_it_over_too(
    services: Services, clock: SetClock
) -> None:
    tenant = await services.tenants.create("Taken Bank", actor=ACTOR)
    conversation = await services.chat.open_conversation(tenant.tenant_id, "customer-1")
    taken = clock.advance(minutes=1)
    await services.desk.reply(tenant.tenant_id, conversation.conversation_id, "Hi", actor=AGENT)

    recorded = await moments(services, tenant.tenant_id, conversation.conversation_id)
    assert recorded["handed_at"] == taken
    assert recorded["first_human_reply_at"] == taken


async def test_a_handover_after_a_return_to_the_assistant_starts_a_new_episode(
    services: Services, clock: SetClock
) -> None:
    """The customer comes back to the same conversation a week later: the new episode's
    handover, first reply and replier replace the last one's, and it is not resolved yet."""
    tenant = await services.tenants.create("Returning Bank", actor=ACTOR)
    conversation = await services.chat.open_conversation(tenant.tenant_id, "customer-1")
    await services.chat.request_handoff(tenant.tenant_id, conversation.conversation_id)
    clock.advance(minutes=2)
    await services.desk.reply(tenant.tenant_id, conversation.conversation_id, "Hi", actor=AGENT)
    clock.advance(minutes=5)
    await services.desk.return_to_assistant(
        tenant.tenant_id, conversation.conversation_id, actor=AGENT
    )
    again = clock.advance(days=7)
    reopened = await services.chat.open_conversation(tenant.tenant_id, "customer-1")
    assert reopened.conversation_id == conversation.conversation_id  # the same thread
    await services.chat.request_handoff(tenant.tenant_id, conversation.conversation_id)
    assert await moments(services, tenant.tenant_id, conversation.conversation_id) == {
        "handed_at": again,
        "first_human_reply_at": None,
        "human_account_id": None,
        "resolved_at": None,
        "last_turn_outcome": None,
    }

    clock.advance(minutes=1)
    other = Actor(ActorType.ACCOUNT, "account-of-agent-bo")
    taken = clock.advance(minutes=1)
    await services.desk.reply(tenant.tenant_id, conversation.conversation_id, "Back", actor=other)
    recorded = await moments(services, tenant.tenant_id, conversation.conversation_id)
    assert recorded["handed_at"] == again  # taking it from the queue is the same episode
    assert recorded["first_human_reply_at"] == taken
    assert recorded["human_account_id"] == "account-of-agent-bo"


async def test_a_conversation_the_assistant_keeps_has_no_moments_with_people(
    services: Services,
) -> None:
    tenant = await services.tenants.create("Quiet Bank", actor=ACTOR)
    conversation = await services.chat.open_conversation(tenant.tenant_id, "customer-1")
    await services.chat.post_user_message(
        tenant.tenant_id, conversation.conversation_id, client_id="c1", text="Hello?"
    )

    assert await moments(services, tenant.tenant_id, conversation.conversation_id) == {
        "handed_at": None,
        "first_human_reply_at": None,
        "human_account_id": None,
        "resolved_at": None,
        "last_turn_outcome": None,
    }
