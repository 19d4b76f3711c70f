"""Customers' ratings in the people report: over the organisation's local days and per member
who had the conversation, in the JSON report and its CSV; on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from parlour.audit.events import Actor
from parlour.reports.models import ReportName
from parlour.services import Services
from tests.chat.test_lifecycle import member
from tests.conftest import migrated_services
from tests.support import seed
from tests.support.clock import SetClock


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 3, 2, 15, 0, tzinfo=UTC))


@pytest.fixture
async def services(tmp_path: Path, database_url: str, clock: SetClock) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, database_url, clock=clock) as built:
        yield built


async def resolved_by(services: Services, tenant_id: str, customer: str, agent: Actor) -> str:
    conversation = await services.chat.open_conversation(tenant_id, customer)
    conversation_id = conversation.conversation_id
    await services.chat.request_handoff(tenant_id, conversation_id)
    await services.desk.reply(tenant_id, conversation_id, "Done.", actor=agent)
    await services.desk.resolve(tenant_id, conversation_id, actor=agent)
    return conversation_id


async def test_ratings_are_reported_by_local_day_and_by_the_member_who_had_it(
    services: Services, clock: SetClock
) -> None:
    org = await seed.organisation(services, faq=None)
    await services.tenants.set_time_zone(org.tenant_id, "America/New_York", actor=seed.ACTOR)
    ada, bo = await member(services, org.tenant_id), await member(services, org.tenant_id)
    # Monday 10:00 in New York: Ada's two, rated 5 and 3; Bo's one rated 1 at 23:30 (UTC
    # Tuesday 04:30, still Monday in New York); Bo's other rated Tuesday.
    for customer, agent, score in (("c1", ada, 5), ("c2", ada, 3), ("c3", bo, 1)):
        conversation_id = await resolved_by(services, org.tenant_id, customer, agent)
        if customer == "c3":
            clock.now = datetime(2026, 3, 3, 4, 30, tzinfo=UTC)
        await services.ratings.rate(org.tenant_id, conversation_id, score, "private words")
    clock.now = datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    conversation_id = await resolved_by(services, org.tenant_id, "c4", bo)
    await services.ratings.rate(org.tenant_id, conversation_id, 4)

    period = await services.reports.period(org.tenant_id, "2026-03-02", "2026-03-04")
    report = await services.reports.people(org.tenant_id, period)
    assert (report.ratings.count, report.ratings.average) == (4, 3.25)
    assert report.ratings.scores == (1, 0, 1, 1, 1)
    assert [(d.day, d.ratings.count, d.ratings.average) for d in report.ratings_by_day] == [
        (date(2026, 3, 2), 3, 3.0),
        (date(2026, 3, 3), 1, 4.0),
        (date(2026, 3, 4), 0, None),
    ]
    by_agent = {a.account_id: (a.ratings.count, a.ratings.average) for a in report.ratings_by_agent}
    assert by_agent == {ada.id: (2, 4.0), bo.id: (2, 2.5)}

    text = await services.reports.export(org.tenant_id, ReportName.PEOPLE, period, actor=seed.ACTOR)
    assert "private words" not in text
    lines = text.splitlines()
    assert lines[0].endswith(",ratings,rating_average,day,team_id,team")
    assert lines[1].endswith(",4,3.25,,,")
    assert lines[-4:] == [
        ",all,,,,,,3,3.0,2026-03-02,,",
        ",all,,,,,,1,4.0,2026-03-03,,",
        ",all,,,,,,0,,2026-03-04,,",
        ",,4,0.0,0.0,0.0,0.0,,,,,no team",  # ratings are by member, not by team
    ]


async def test_another_organisations_ratings_are_not_in_the_report(services: Services) -> None:
    """T-103: ratings are read in a transaction scoped to the organisation, behind row-level
    security on PostgreSQL."""
    ours = await seed.organisation(services, faq=None)
    theirs = await seed.organisation(services, name="Other", faq=None)
    agent = await member(services, theirs.tenant_id)
    conversation_id = await resolved_by(services, theirs.tenant_id, "c1", agent)
    await services.ratings.rate(theirs.tenant_id, conversation_id, 2)
    period = await services.reports.period(ours.tenant_id)
    assert (await services.reports.people(ours.tenant_id, period)).ratings.count == 0
    period = await services.reports.period(theirs.tenant_id)
    assert (await services.reports.people(theirs.tenant_id, period)).ratings.count == 1
