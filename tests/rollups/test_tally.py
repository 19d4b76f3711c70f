"""The tally: counts for reports kept in memory, added to the database by hour, summed across
processes, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError

from parlour.rollups.models import Figure
from parlour.rollups.repository import CountRepository
from parlour.rollups.tally import FRESH_SECONDS, Tally
from parlour.services import Services
from tests.conftest import migrated_services
from tests.support.clock import SetClock, SetMonotonic
from tests.support.seed import ACTOR


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 3, 2, 9, 40, tzinfo=UTC))


@pytest.fixture
async def services(tmp_path: Path, database_url: str, clock: SetClock) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, database_url, clock=clock) as built:
        yield built


async def hourly(
    services: Services, tenant_id: str, *figures: Figure
) -> dict[tuple[str, str, datetime], int]:
    since = datetime(2026, 3, 1, tzinfo=UTC)
    async with services.db.read(tenant_id) as conn:
        counts = await CountRepository(conn).hourly(
            tenant_id, figures, since, since + timedelta(days=7)
        )
    return {(c.figure.value, c.detail, c.hour): c.value for c in counts}


async def test_counts_are_added_to_the_hour_they_happened_in(
    services: Services, clock: SetClock
) -> None:
    tenant = await services.tenants.create("Tally Bank", actor=ACTOR)
    tally = Tally(services.db, flush_seconds=60, clock=clock)
    tally.add(tenant.tenant_id, Figure.MESSAGES, "customer")
    tally.add(tenant.tenant_id, Figure.MESSAGES, "customer")
    tally.add(tenant.tenant_id, Figure.INPUT_TOKENS, n=120)
    first_hour = clock.now.replace(minute=0, second=0, microsecond=0)
    clock.advance(minutes=30)
    tally.add(tenant.tenant_id, Figure.MESSAGES, "customer")
    await tally.flush()
    tally.add(tenant.tenant_id, Figure.MESSAGES, "assistant")
    await tally.flush()

    assert await hourly(services, tenant.tenant_id, Figure.MESSAGES, Figure.INPUT_TOKENS) == {
        ("messages", "customer", first_hour): 2,
        ("messages", "customer", first_hour + timedelta(hours=1)): 1,
        ("messages", "assistant", first_hour + timedelta(hours=1)): 1,
        ("assistant.input_tokens", "", first_hour): 120,
    }


async def test_two_processes_counting_the_same_figure_are_summed(
    services: Services, clock: SetClock
) -> None:
    tenant = await services.tenants.create("Summed Bank", actor=ACTOR)
    one = Tally(services.db, flush_seconds=60, clock=clock)
    other = Tally(services.db, flush_seconds=60, clock=clock)
    for _ in range(3):
        one.add(tenant.tenant_id, Figure.CONVERSATIONS_STARTED)
    other.add(tenant.tenant_id, Figure.CONVERSATIONS_STARTED, n=4)
    await one.flush()
    await other.flush()
    await one.flush()  # nothing new: adds nothing

    hour = clock.now.replace(minute=0, second=0, microsecond=0)
    assert await hourly(services, tenant.tenant_id, Figure.CONVERSATIONS_STARTED) == {
        ("conversations.started", "", hour): 7
    }


async def test_a_deleted_organisations_counts_are_dropped_and_the_others_kept(
    services: Services, clock: SetClock
) -> None:
    kept = await services.tenants.create("Kept Bank", actor=ACTOR)
    gone = await services.tenants.create("Gone Bank", actor=ACTOR)
    tally = Tally(services.db, flush_seconds=60, clock=clock)
    tally.add(kept.tenant_id, Figure.CONVERSATIONS_STARTED)
    tally.add(gone.tenant_id, Figure.CONVERSATIONS_STARTED)
    await services.tenants.delete(gone.tenant_id, actor=ACTOR)

    await tally.flush()
    await tally.flush()  # and they are not retried for ever

    hour = clock.now.replace(minute=0, second=0, microsecond=0)
    assert await hourly(services, kept.tenant_id, Figure.CONVERSATIONS_STARTED) == {
        ("conversations.started", "", hour): 1
    }
    assert await hourly(services, gone.tenant_id, Figure.CONVERSATIONS_STARTED) == {}


async def test_a_detail_is_cut_to_its_column(services: Services, clock: SetClock) -> None:
    tenant = await services.tenants.create("Long Detail Bank", actor=ACTOR)
    tally = Tally(services.db, flush_seconds=60, clock=clock)
    tally.add(tenant.tenant_id, Figure.TURN_REASONS, "r" * 500)
    await tally.flush()

    [(_, detail, _)] = await hourly(services, tenant.tenant_id, Figure.TURN_REASONS)
    assert detail == "r" * 64


async def _fail_inserts_of(services: Services, tenant_id: str) -> None:
    """Make every insert of this organisation's counts fail for real, and not as a broken
    constraint (an OperationalError on SQLite, a raised exception on PostgreSQL)."""
    async with services.db.transaction() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql(
                "CREATE TRIGGER fail_counts BEFORE INSERT ON report_counts"
                f" WHEN NEW.tenant_id = '{tenant_id}' BEGIN SELECT json('{{'); END"
            )
        else:
            await conn.exec_driver_sql(
                "CREATE FUNCTION fail_counts() RETURNS trigger LANGUAGE plpgsql AS"
                " $$ BEGIN RAISE EXCEPTION 'counts refused'; END $$"
            )
            await conn.exec_driver_sql(
                "CREATE TRIGGER fail_counts BEFORE INSERT ON report_counts FOR EACH ROW"
                f" WHEN (NEW.tenant_id = '{tenant_id}') EXECUTE FUNCTION fail_counts()"
            )


async def _let_inserts_through(services: Services) -> None:
    async with services.db.transaction() as conn:
        if conn.dialect.name == "sqlite":
            await conn.exec_driver_sql("DROP TRIGGER fail_counts")
        else:
            await conn.exec_driver_sql("DROP TRIGGER fail_counts ON report_counts")
            await conn.exec_driver_sql("DROP FUNCTION fail_counts()")


async def test_a_failure_after_a_deleted_organisation_keeps_the_counts_not_yet_stored(
    services: Services, clock: SetClock
) -> None:
    """The batch fails for the deleted organisation; storing organisation by organisation, the
    next one fails otherwise: its counts and those after it are flushed at the next try."""
    gone = await services.tenants.create("Gone Again Bank", actor=ACTOR)
    failing = await services.tenants.create("Failing Bank", actor=ACTOR)
    after = await services.tenants.create("After Bank", actor=ACTOR)
    tally = Tally(services.db, flush_seconds=60, clock=clock)
    for tenant in (gone, failing, after):
        tally.add(tenant.tenant_id, Figure.CONVERSATIONS_STARTED, n=2)
    await services.tenants.delete(gone.tenant_id, actor=ACTOR)
    await _fail_inserts_of(services, failing.tenant_id)

    with pytest.raises(DBAPIError) as failed:
        await tally.flush()
    assert not isinstance(failed.value, IntegrityError)
    await _let_inserts_through(services)
    await tally.flush()

    hour = clock.now.replace(minute=0, second=0, microsecond=0)
    for tenant in (failing, after):
        assert await hourly(services, tenant.tenant_id, Figure.CONVERSATIONS_STARTED) == {
            ("conversations.started", "", hour): 2
        }


async def test_a_report_flushes_only_when_the_last_flush_is_older_than_a_second(
    services: Services, clock: SetClock
) -> None:
    tenant = await services.tenants.create("Fresh Bank", actor=ACTOR)
    monotonic = SetMonotonic()
    tally = Tally(services.db, flush_seconds=60, clock=clock, monotonic=monotonic)
    tally.add(tenant.tenant_id, Figure.MESSAGES, "user")
    await tally.refresh()  # never flushed: flushes
    tally.add(tenant.tenant_id, Figure.MESSAGES, "user")
    monotonic.now += FRESH_SECONDS / 2
    await tally.refresh()  # fresh enough: writes nothing
    hour = clock.now.replace(minute=0, second=0, microsecond=0)
    assert await hourly(services, tenant.tenant_id, Figure.MESSAGES) == {
        ("messages", "user", hour): 1
    }

    monotonic.now += FRESH_SECONDS
    await tally.refresh()
    assert await hourly(services, tenant.tenant_id, Figure.MESSAGES) == {
        ("messages", "user", hour): 2
    }
