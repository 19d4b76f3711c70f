"""Who can answer now: business hours first, then (where presence is known) whether any agent
is available. Presence is another part of the desk; here a fixed count stands in for it, as
`AgentsAvailable` is all this module asks of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parlour.chat.availability import Availability
from parlour.services import Services
from tests.conftest import migrated_services
from tests.support.clock import SetClock
from tests.support.seed import ACTOR

WEDNESDAY_NOON = datetime(2026, 6, 3, 12, 0, tzinfo=UTC)


class Agents:
    def __init__(self, available: int) -> None:
        self.available = available
        self.asked = 0

    async def available_agents(self, tenant_id: str) -> int:
        self.asked += 1
        return self.available


@pytest.fixture
async def services(tmp_path: Path, sqlite_url: str) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, sqlite_url, clock=SetClock(WEDNESDAY_NOON)) as built:
        yield built


async def test_within_hours_with_an_agent_available_nothing_is_said(services: Services) -> None:
    tenant_id = (await services.tenants.create("Open Bank", actor=ACTOR)).tenant_id
    await services.business_hours.set(tenant_id, [(2, "09:00", "17:00")], [], "soon", actor=ACTOR)
    assert await Availability(services.business_hours, Agents(2)).frame(tenant_id) is None
    # Without presence, the hours alone decide.
    assert await Availability(services.business_hours).frame(tenant_id) is None


async def test_within_hours_with_nobody_available_the_customer_is_told(
    services: Services,
) -> None:
    tenant_id = (await services.tenants.create("Open Bank", actor=ACTOR)).tenant_id
    await services.business_hours.set(
        tenant_id, [(2, "09:00", "17:00"), (3, "09:00", "17:00")], [], "within 2 hours", actor=ACTOR
    )
    told = await Availability(services.business_hours, Agents(0)).frame(tenant_id)
    assert told == {
        "type": "availability",
        "open": False,
        "reason": "nobody_available",
        "reply_time": "within 2 hours",
        "next_open_at": None,
        "email_known": False,
    }


async def test_outside_hours_presence_is_not_asked(services: Services) -> None:
    tenant_id = (await services.tenants.create("Closed Bank", actor=ACTOR)).tenant_id
    await services.business_hours.set(tenant_id, [(3, "09:00", "17:00")], [], "soon", actor=ACTOR)
    agents = Agents(5)
    told = await Availability(services.business_hours, agents).frame(tenant_id)
    assert told is not None
    assert (told["reason"], told["next_open_at"]) == ("closed", "2026-06-04T09:00:00Z")
    assert agents.asked == 0
