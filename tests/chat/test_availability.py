"""Who can answer now: business hours first, then, for a customer waiting for a person,
whether any of the organisation's agents is available (their live sockets and their own choice,
chat/presence.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parlour.chat.availability import Availability
from parlour.chat.presence import PresenceState
from parlour.services import Services
from tests.chat.test_lifecycle import member
from tests.conftest import migrated_services
from tests.support.clock import SetClock
from tests.support.seed import ACTOR

WEDNESDAY_NOON = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
async def services(tmp_path: Path, sqlite_url: str) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, sqlite_url, clock=SetClock(WEDNESDAY_NOON)) as built:
        yield built


async def test_within_hours_with_an_agent_available_nothing_is_said(services: Services) -> None:
    tenant_id = (await services.tenants.create("Open Bank", actor=ACTOR)).tenant_id
    await services.business_hours.set(tenant_id, [(2, "09:00", "17:00")], [], "soon", actor=ACTOR)
    agent = await member(services, tenant_id)
    await services.presence.connected(tenant_id, agent.id)
    availability = Availability(services.business_hours, services.presence)
    assert await availability.frame(tenant_id, for_people=True) is None
    # Without presence, the hours alone decide.
    assert await Availability(services.business_hours).frame(tenant_id, for_people=True) is None


async def test_within_hours_with_nobody_available_a_customer_waiting_for_a_person_is_told(
    services: Services,
) -> None:
    tenant_id = (await services.tenants.create("Open Bank", actor=ACTOR)).tenant_id
    await services.business_hours.set(
        tenant_id, [(2, "09:00", "17:00"), (3, "09:00", "17:00")], [], "within 2 hours", actor=ACTOR
    )
    agent = await member(services, tenant_id)
    await services.presence.connected(tenant_id, agent.id)
    await services.presence.choose(tenant_id, agent.id, PresenceState.AWAY)
    availability = Availability(services.business_hours, services.presence)
    told = await availability.frame(tenant_id, for_people=True)
    assert told == {
        "type": "availability",
        "open": False,
        "reason": "nobody_available",
        "reply_time": "within 2 hours",
        "next_open_at": None,
        "email_known": False,
    }
    # A customer the assistant is answering is not told that nobody is there.
    assert await availability.frame(tenant_id, for_people=False) is None


async def test_outside_hours_presence_is_not_asked(services: Services) -> None:
    tenant_id = (await services.tenants.create("Closed Bank", actor=ACTOR)).tenant_id
    await services.business_hours.set(tenant_id, [(3, "09:00", "17:00")], [], "soon", actor=ACTOR)
    agent = await member(services, tenant_id)
    await services.presence.connected(tenant_id, agent.id)
    availability = Availability(services.business_hours, services.presence)
    for for_people in (True, False):
        told = await availability.frame(tenant_id, for_people=for_people)
        assert told is not None
        assert (told["reason"], told["next_open_at"]) == ("closed", "2026-06-04T09:00:00Z")
