"""The operator's view of every organisation: verification, volumes and error rates from the
report counts, on both backends (on PostgreSQL, through row-level security)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from parlour.rollups.models import Figure
from parlour.services import Services
from parlour.tenants.models import Verification
from tests.conftest import BACKENDS, migrated_services
from tests.support.clock import SetClock
from tests.support.databases import new_postgres_database
from tests.support.seed import ACTOR


@pytest.fixture
def clock() -> SetClock:
    return SetClock()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> AsyncIterator[str]:
    """A database of these tests' own on each backend: the operator's page weighs the platform's
    oldest organisations first, and the run's shared PostgreSQL database holds thousands."""
    if request.param == "postgresql":
        async with new_postgres_database() as url:
            yield url
    else:
        yield sqlite_url


@pytest.fixture
async def services(tmp_path: Path, database_url: str, clock: SetClock) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, database_url, clock=clock) as built:
        yield built


async def test_each_organisation_shows_its_own_volumes_and_failed_turns_the_busiest_first(
    services: Services, clock: SetClock
) -> None:
    quiet = await services.tenants.create("Quiet Bank", actor=ACTOR)
    busy = await services.tenants.create("Busy Bank", actor=ACTOR)
    conversation = await services.chat.open_conversation(busy.tenant_id, "customer-1")
    for n in range(3):
        await services.chat.post_user_message(
            busy.tenant_id, conversation.conversation_id, client_id=f"c{n}", text="Hello"
        )
    tally = services.tally
    tally.add(busy.tenant_id, Figure.TURNS, "answered", n=3)
    tally.add(busy.tenant_id, Figure.TURNS, "fallback")
    tally.add(busy.tenant_id, Figure.TURNS, "blocked")
    tally.add(busy.tenant_id, Figure.WEBHOOK_FAILURES, n=2)
    clock.advance(days=8)
    tally.add(busy.tenant_id, Figure.TOKEN_FAILURES, "expired")
    clock.advance(days=1)

    last_week, _ = await services.platform_activity.organisations(days=7)
    busy_row = next(a for a in last_week if a.tenant.tenant_id == busy.tenant_id)
    assert (busy_row.messages, busy_row.turns, busy_row.token_failures) == (0, 0, 1)

    activity, count = await services.platform_activity.organisations(days=10)
    assert count >= 2
    order = [a.tenant.tenant_id for a in activity]
    assert order.index(busy.tenant_id) < order.index(quiet.tenant_id)
    busy_row = next(a for a in activity if a.tenant.tenant_id == busy.tenant_id)
    assert busy_row.tenant.verification is Verification.VERIFIED
    assert (busy_row.conversations, busy_row.messages) == (1, 3)
    assert (busy_row.turns, busy_row.failed_turns, busy_row.blocked_turns) == (5, 1, 1)
    assert busy_row.failed_turn_rate == pytest.approx(0.2)
    assert (busy_row.token_failures, busy_row.webhook_failures) == (1, 2)
    quiet_row = next(a for a in activity if a.tenant.tenant_id == quiet.tenant_id)
    assert (quiet_row.messages, quiet_row.turns, quiet_row.failed_turn_rate) == (0, 0, None)


async def test_the_busiest_organisations_are_shown_whatever_their_age(
    services: Services,
) -> None:
    old = await services.tenants.create("Old Quiet Bank", actor=ACTOR)
    new = await services.tenants.create("New Busy Bank", actor=ACTOR)
    services.tally.add(new.tenant_id, Figure.MESSAGES, "user", n=10**9)

    shown, count = await services.platform_activity.organisations(days=7, shown=1)

    assert [a.tenant.tenant_id for a in shown] == [new.tenant_id]
    assert count >= 2
    assert old.tenant_id not in {a.tenant.tenant_id for a in shown}
