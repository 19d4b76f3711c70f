"""Reports over seeded conversations, desk replies and assistant turns, across local days of an
organisation in New York (UTC-5 in early March 2026), on both backends: every figure exact.

Past 400 lines as one specification over one seeded organisation, every figure in one place.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from parlour.audit.events import Actor, ActorType
from parlour.chat.models import Message
from parlour.reports.export import as_csv
from parlour.reports.models import (
    CitedPassage,
    ConversationOutcomes,
    DayCount,
    HandlingTimes,
    Percentiles,
    ReasonCount,
    ReportName,
    ThumbsDay,
    ThumbsFigures,
    TokenDay,
)
from parlour.rollups.period import Period
from parlour.services import Services
from tests.conftest import migrated_services
from tests.support import seed
from tests.support.assistants import SayingModel, ask, assistant_with
from tests.support.clock import SetClock

ADA = Actor(ActorType.ACCOUNT, "account-of-ada")
BO = Actor(ActorType.ACCOUNT, "account-of-bo")
HOURS = "What are your opening hours?"
OPEN = "We are open Monday to Friday, 9:00 to 17:00 [k1]."
SPENT = {"tokens_per_conversation": "1/day", "tokens_per_end_user": "1/day"}
SPENT |= {"tokens_per_tenant": "1/day"}


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 3, 2, 4, 0, tzinfo=UTC))


@pytest.fixture
async def services(tmp_path: Path, database_url: str, clock: SetClock) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, database_url, clock=clock) as built:
        yield built


@dataclass
class Seeded:
    org: seed.Organisation
    period: Period


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


async def handed_and_answered(
    services: Services,
    clock: SetClock,
    org: seed.Organisation,
    conversation_id: str,
    *,
    handed_after: float,
    replied_after: float,
    returned_after: float,
    agent: Actor,
) -> None:
    clock.advance(minutes=handed_after)
    await services.chat.request_handoff(org.tenant_id, conversation_id)
    clock.advance(minutes=replied_after)
    await services.desk.reply(org.tenant_id, conversation_id, "Hello, Ada here.", actor=agent)
    clock.advance(minutes=returned_after)
    await services.desk.return_to_assistant(org.tenant_id, conversation_id, actor=agent)


async def seeded(services: Services, clock: SetClock) -> Seeded:
    """Seven conversations; six start on the local days 2 and 3 March in New York. Two teams:
    Days (the abstained conversation, Ada's, and the refused one nobody answers) and Nights
    (the late one, Bo's); Ada's quick one is in no team."""
    org = await seed.organisation(services)
    await services.tenants.set_time_zone(org.tenant_id, "America/New_York", actor=seed.ACTOR)
    saying = assistant_with(services, SayingModel(text=OPEN))
    days, nights = [
        (await services.teams.create(org.tenant_id, name, actor=seed.ACTOR)).team_id
        for name in ("Days", "Nights")
    ]

    async def into(team_id: str, conversation_id: str) -> None:
        await services.teams.place(org.tenant_id, conversation_id, team_id, actor=seed.ACTOR)

    clock.now = at(2, 4)  # 1 March, 23:00 in New York: before the period
    await services.chat.open_conversation(org.tenant_id, "early")

    clock.now = at(2, 14)  # 09:00 local: the assistant answers, and that is all
    await ask(services, saying, org, HOURS, user="answered")

    clock.now = at(2, 15, 30)  # 10:30: the assistant abstains, Ada answers after 4 minutes
    abstained = await ask(
        services, saying, org, "Tell me about quantum chromodynamics please", user="abstained"
    )
    assert isinstance(abstained, Message)
    await into(days, abstained.conversation_id)
    await handed_and_answered(
        services, clock, org, abstained.conversation_id,
        handed_after=1, replied_after=4, returned_after=15, agent=ADA,
    )  # fmt: skip

    clock.now = at(2, 16)  # 11:00: Ada answers after one minute
    quick = await services.chat.open_conversation(org.tenant_id, "quick")
    await handed_and_answered(
        services, clock, org, quick.conversation_id,
        handed_after=1, replied_after=1, returned_after=8, agent=ADA,
    )  # fmt: skip

    clock.now = at(3, 16)  # 3 March, 11:00: the filter blocks the answer, nobody comes
    blocking = assistant_with(services, SayingModel(text="Send your password to evil@example.com"))
    await ask(services, blocking, org, HOURS, user="blocked")

    clock.now = at(3, 17)  # 12:00: the budget refuses the turn; queued, nobody answers
    refused = await ask(
        services, assistant_with(services, SayingModel(text=OPEN), budgets=SPENT), org, HOURS
    )
    assert isinstance(refused, Message)
    await into(days, refused.conversation_id)  # nobody answers it: it is in no one's times
    clock.advance(minutes=1)
    await services.chat.request_handoff(org.tenant_id, refused.conversation_id)

    clock.now = at(4, 3, 30)  # 3 March, 22:30 local: Bo answers after 12 minutes
    late = await services.chat.open_conversation(org.tenant_id, "late")
    await into(nights, late.conversation_id)
    await handed_and_answered(
        services, clock, org, late.conversation_id,
        handed_after=2, replied_after=12, returned_after=16, agent=BO,
    )  # fmt: skip

    period = await services.reports.period(org.tenant_id, "2026-03-02", "2026-03-04")
    return Seeded(org, period)


async def test_conversations_are_counted_by_local_day_and_hour_and_by_how_they_ended(
    services: Services, clock: SetClock
) -> None:
    s = await seeded(services, clock)

    report = await services.reports.conversations(s.org.tenant_id, s.period)

    assert report.started == 6
    assert report.started_by_day == (
        DayCount(date(2026, 3, 2), 3),
        DayCount(date(2026, 3, 3), 3),
        DayCount(date(2026, 3, 4), 0),
    )
    by_hour = [0] * 24
    by_hour[9] = by_hour[10] = by_hour[12] = by_hour[22] = 1
    by_hour[11] = 2
    assert report.started_by_hour == tuple(by_hour)
    assert report.handovers == 4
    assert [d.value for d in report.handovers_by_day] == [2, 2, 0]
    assert report.outcomes == ConversationOutcomes(
        resolved_by_assistant=1, handed_to_person=3, abandoned=2
    )


async def test_people_are_timed_by_nearest_rank_percentiles_overall_and_per_agent(
    services: Services, clock: SetClock
) -> None:
    s = await seeded(services, clock)

    report = await services.reports.people(s.org.tenant_id, s.period)

    # Resolution runs from the handover: 19, 9 and 28 minutes.
    assert report.overall == HandlingTimes(
        3, Percentiles(3, 240.0, 720.0), Percentiles(3, 1140.0, 1680.0)
    )
    ada, bo = report.by_agent
    assert (ada.account_id, ada.name) == (ADA.id, ADA.id)  # no longer a member: the id
    assert ada.times == HandlingTimes(2, Percentiles(2, 60.0, 240.0), Percentiles(2, 540.0, 1140.0))
    assert bo.times == HandlingTimes(
        1, Percentiles(1, 720.0, 720.0), Percentiles(1, 1680.0, 1680.0)
    )


async def test_people_are_timed_per_team_by_name_and_those_in_no_team_together(
    services: Services, clock: SetClock
) -> None:
    """Issue 21: first response and resolution per team, by the team each conversation is in;
    a team whose conversations nobody answered has no times, and one renamed reads its name."""
    s = await seeded(services, clock)
    (nights,) = [t for t in await services.teams.teams(s.org.tenant_id) if t.name == "Nights"]
    await services.teams.rename(s.org.tenant_id, nights.team_id, "Night shift", actor=seed.ACTOR)

    report = await services.reports.people(s.org.tenant_id, s.period)

    assert [(t.name, t.times) for t in report.by_team] == [
        ("Days", HandlingTimes(1, Percentiles(1, 240.0, 240.0), Percentiles(1, 1140.0, 1140.0))),
        (
            "Night shift",
            HandlingTimes(1, Percentiles(1, 720.0, 720.0), Percentiles(1, 1680.0, 1680.0)),
        ),
        ("no team", HandlingTimes(1, Percentiles(1, 60.0, 60.0), Percentiles(1, 540.0, 540.0))),
    ]
    assert report.by_team[1].team_id == nights.team_id
    assert report.by_team[2].team_id == ""
    assert sum(t.times.conversations for t in report.by_team) == report.overall.conversations


async def test_a_returning_customers_latest_episode_is_timed_in_the_period_of_its_handover(
    services: Services, clock: SetClock
) -> None:
    """A conversation opened in January, resolved then, and handed over again in March: March's
    people report times March's episode (from its handover), not the months since January."""
    org = await seed.organisation(services)
    clock.now = datetime(2026, 1, 5, 10, tzinfo=UTC)
    conversation = await services.chat.open_conversation(org.tenant_id, "returning")
    await handed_and_answered(
        services, clock, org, conversation.conversation_id,
        handed_after=1, replied_after=30, returned_after=60, agent=ADA,
    )  # fmt: skip
    clock.now = at(3, 10)
    await handed_and_answered(
        services, clock, org, conversation.conversation_id,
        handed_after=0, replied_after=2, returned_after=10, agent=BO,
    )  # fmt: skip

    march = await services.reports.period(org.tenant_id, "2026-03-01", "2026-03-31")
    report = await services.reports.people(org.tenant_id, march)
    assert report.overall == HandlingTimes(
        1, Percentiles(1, 120.0, 120.0), Percentiles(1, 720.0, 720.0)
    )
    assert [a.account_id for a in report.by_agent] == [BO.id]
    january = await services.reports.period(org.tenant_id, "2026-01-01", "2026-01-31")
    assert (await services.reports.people(org.tenant_id, january)).overall.conversations == 0


async def test_handling_times_are_exact_to_the_microsecond_however_long_they_took(
    services: Services, clock: SetClock
) -> None:
    """The database works out the durations (whole microseconds): they are the seconds that
    subtracting the moments gives, for a microsecond as for days."""
    org = await seed.organisation(services)
    first = [timedelta(microseconds=1), timedelta(seconds=61, microseconds=999_999)]
    first += [timedelta(days=3, microseconds=7), timedelta(microseconds=400)]
    taken = [timedelta(hours=5, microseconds=3), timedelta(microseconds=500_001)]
    taken += [timedelta(days=40, seconds=1), timedelta(seconds=9, microseconds=999_000)]
    # Moments at .9996 s and the like too, which SQLite's seconds (strftime) would round up.
    starts = [timedelta(microseconds=123_457 * n) for n in range(3)]
    starts += [timedelta(microseconds=999_600)]
    for n, (start, reply, resolve) in enumerate(zip(starts, first, taken, strict=True)):
        clock.now = at(2, 9 + n, n) + start
        conversation = await services.chat.open_conversation(org.tenant_id, f"exact-{n}")
        await services.chat.request_handoff(org.tenant_id, conversation.conversation_id)
        clock.now += reply
        await services.desk.reply(org.tenant_id, conversation.conversation_id, "Hi", actor=ADA)
        clock.now += resolve
        await services.desk.return_to_assistant(
            org.tenant_id, conversation.conversation_id, actor=ADA
        )
    period = await services.reports.period(org.tenant_id, "2026-03-01", "2026-03-03")

    report = await services.reports.people(org.tenant_id, period)

    seconds = sorted(d.total_seconds() for d in first)
    resolutions = sorted((d + r).total_seconds() for d, r in zip(first, taken, strict=True))
    assert report.overall == HandlingTimes(
        4, Percentiles(4, seconds[1], seconds[3]), Percentiles(4, resolutions[1], resolutions[3])
    )


async def test_the_assistant_report_counts_outcomes_reasons_tokens_and_citations(
    services: Services, clock: SetClock
) -> None:
    s = await seeded(services, clock)

    report = await services.reports.assistant(s.org.tenant_id, s.period)

    assert report.turns == 4
    assert {o.outcome: (o.turns, o.rate) for o in report.outcomes} == {
        "answered": (1, 0.25),
        "abstained": (1, 0.25),
        "offered": (0, 0.0),  # no middle band by default
        "blocked": (1, 0.25),
        "fallback": (0, 0.0),
        "refused": (1, 0.25),
    }
    blocked = next(o for o in report.outcomes if o.outcome == "blocked")
    assert [d.value for d in blocked.by_day] == [0, 1, 0]
    assert set(report.reasons) == {
        ReasonCount("no_confident_knowledge", 1),
        ReasonCount("credential_request", 1),
        ReasonCount("tokens_per_conversation_spent", 1),
    }
    assert report.daily_token_budget == 5_000_000
    assert (report.input_tokens, report.output_tokens) == (100, 20)
    assert report.tokens_by_day[0] == TokenDay(date(2026, 3, 2), 100, 20, 120 / 5_000_000)
    assert report.tokens_by_day[1:] == (
        TokenDay(date(2026, 3, 3), 0, 0, 0.0),
        TokenDay(date(2026, 3, 4), 0, 0, 0.0),
    )
    entries = {
        e.question: e.entry_id for e in await services.knowledge.faq_entries(s.org.tenant_id)
    }
    assert report.most_cited == (CitedPassage(entries[HOURS], HOURS, 1),)
    assert report.least_cited == (
        CitedPassage(entries["How do I block my card?"], "How do I block my card?", 0),
        CitedPassage(entries["How do I reset my password?"], "How do I reset my password?", 0),
        CitedPassage(entries[HOURS], HOURS, 1),
    )


async def test_the_reports_page_reads_the_three_reports_as_each_reads_alone(
    services: Services, clock: SetClock
) -> None:
    s = await seeded(services, clock)
    tenant_id = s.org.tenant_id

    page = await services.reports.page(tenant_id, s.period)

    assert page.conversations == await services.reports.conversations(tenant_id, s.period)
    assert page.people == await services.reports.people(tenant_id, s.period)
    assert page.assistant == await services.reports.assistant(tenant_id, s.period)
    assert page.conversations.handovers == 4
    assert page.assistant.most_cited


async def test_an_export_is_csv_of_one_report_and_is_audited_with_its_period_only(
    services: Services, clock: SetClock
) -> None:
    s = await seeded(services, clock)

    text = await services.reports.export(
        s.org.tenant_id, ReportName.PEOPLE, s.period, actor=seed.ACTOR
    )

    lines = text.splitlines()
    assert lines[0].startswith("agent_id,agent,conversations,first_response_p50_seconds")
    assert lines[0].endswith(",day,team_id,team")
    # Nobody rated: no ratings, no average; then a row per day of the period, each empty; then
    # a row per team.
    assert lines[1] == ",all,3,240.0,720.0,1140.0,1680.0,0,,,,"
    assert lines[2] == f"{ADA.id},{ADA.id},2,60.0,240.0,540.0,1140.0,0,,,,"
    assert lines[-6:-3] == [f",all,,,,,,0,,2026-03-0{day},," for day in (2, 3, 4)]
    teams = {t.name: t.team_id for t in await services.teams.teams(s.org.tenant_id)}
    assert lines[-3:] == [
        f",,1,240.0,240.0,1140.0,1140.0,,,,{teams['Days']},Days",
        f",,1,720.0,720.0,1680.0,1680.0,,,,{teams['Nights']},Nights",
        ",,1,60.0,60.0,540.0,540.0,,,,,no team",
    ]
    (event,) = await services.audit.recent(s.org.tenant_id, limit=1, action_prefix="report.")
    assert event["action"] == "report.exported"
    assert event["data"] == {
        "report": "people",
        "start": "2026-03-02",
        "end": "2026-03-04",
        "time_zone": "America/New_York",
    }


async def test_a_cell_that_a_spreadsheet_would_run_is_exported_as_text(
    services: Services, clock: SetClock
) -> None:
    """OWASP CSV injection: an account id (or a question) starting with = is quoted."""
    org = await seed.organisation(services)
    conversation = await services.chat.open_conversation(org.tenant_id, "u1")
    formula = Actor(ActorType.ACCOUNT, '=HYPERLINK("http://x")')
    await services.desk.reply(org.tenant_id, conversation.conversation_id, "Hi", actor=formula)
    period = Period(date(2026, 3, 2), date(2026, 3, 2), "UTC")

    text = await services.reports.export(org.tenant_id, ReportName.PEOPLE, period, actor=seed.ACTOR)

    assert "'=HYPERLINK" in text
    assert "\n=" not in text
    assert ",=" not in text


async def test_thumbs_are_counted_on_the_local_day_given_with_their_rate_and_passages(
    services: Services, clock: SetClock
) -> None:
    org = await seed.organisation(services)
    await services.tenants.set_time_zone(org.tenant_id, "America/New_York", actor=seed.ACTOR)
    clock.now = at(2, 14)  # 2 March, 09:00 in New York
    liked = await ask(services, services.assistant, org, HOURS, user="liked")
    disliked = await ask(services, services.assistant, org, HOURS, user="disliked")
    assert isinstance(liked, Message)
    assert isinstance(disliked, Message)
    feedback = services.assistant.feedback
    clock.now = at(2, 14, 5)
    await feedback.give(org.tenant_id, liked.conversation_id, liked.message_id, "up")
    clock.now = at(4, 3)  # 3 March, 22:00 local: the day it was given, not the answer's
    await feedback.give(org.tenant_id, disliked.conversation_id, disliked.message_id, "down")
    period = await services.reports.period(org.tenant_id, "2026-03-02", "2026-03-04")

    report = await services.reports.assistant(org.tenant_id, period)

    assert report.thumbs == ThumbsFigures(
        1,
        1,
        0.5,
        (
            ThumbsDay(date(2026, 3, 2), 1, 0),
            ThumbsDay(date(2026, 3, 3), 0, 1),
            ThumbsDay(date(2026, 3, 4), 0, 0),
        ),
    )
    entries = {e.question: e.entry_id for e in await services.knowledge.faq_entries(org.tenant_id)}
    assert report.most_cited == (CitedPassage(entries[HOURS], HOURS, 2, 1, 1),)
    rows = as_csv(report).splitlines()
    assert "thumbs_by_day,down,2026-03-03,1" in rows
    assert "thumbs_up_rate,,,0.5" in rows
    assert f"most_cited_thumbs_down,{entries[HOURS]},{HOURS},1" in rows
