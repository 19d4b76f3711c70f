"""The organisation's reports, as use cases: each reads counts flushed by every process (this
one's first unless it flushed in the last second, `Tally.refresh`, so a single node sees its own
latest events) and conversations' recorded moments, in one transaction scoped to the
organisation (row-level security on PostgreSQL, T-103); the Reports page reads its three in one.

What is summed per local day is summed by the database, a day being the UTC instants between
its midnight and the next (`Period.day_spans`): a report never carries a period's hourly rows
into Python, bar the conversations started (one row an hour, for their local hour of day)."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from limits import parse
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.assistant.models import Outcome
from parlour.audit.events import Actor, ReportExported
from parlour.audit.service import AuditLog
from parlour.identity.members import MemberService
from parlour.knowledge.service import KnowledgeService
from parlour.reports.export import as_csv
from parlour.reports.models import (
    AgentRatings,
    AgentTimes,
    AssistantReport,
    CitedPassage,
    ConversationsReport,
    DayCount,
    DayRatings,
    HandlingTimes,
    OutcomeFigures,
    PeopleReport,
    Percentiles,
    RatingFigures,
    ReasonCount,
    ReportName,
    ReportsPage,
    TeamTimes,
    ThumbsDay,
    ThumbsFigures,
    TokenDay,
)
from parlour.reports.repository import Handled, ReportRepository
from parlour.rollups.models import Figure
from parlour.rollups.period import Period
from parlour.rollups.repository import CountRepository
from parlour.rollups.tally import Tally
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tenants.service import TenantService

CITED = 10  # passages in each of the most and least cited lists
DEFAULT_DAYS = 30  # a period named by neither end: the last 30 days
NO_TEAM = "no team"  # how the conversations in no team are named, per team
Report = ConversationsReport | PeopleReport | AssistantReport


def daily_budget(rule: str | None) -> int | None:
    """A budget rule ("5000000/day", "200000/hour") as tokens per day: a window other than a
    day is scaled to 24 hours (a per-hour budget of N is 24·N a day)."""
    if not rule:
        return None
    item = parse(rule)
    return round(item.amount * 86400 / item.get_expiry())


class Reports:
    def __init__(
        self,
        db: Database,
        tally: Tally,
        tenants: TenantService,
        members: MemberService,
        knowledge: KnowledgeService,
        audit: AuditLog,
        *,
        daily_token_budget: int | None,
        clock: Clock = utcnow,
    ) -> None:
        self._clock = clock
        self._db = db
        self._tally = tally
        self._tenants = tenants
        self._members = members
        self._knowledge = knowledge
        self._audit = audit
        self._daily_token_budget = daily_token_budget

    async def period(
        self, tenant_id: str, start: str | None = None, end: str | None = None
    ) -> Period:
        """A period of the organisation's local days, from ISO dates (YYYY-MM-DD). A missing
        end is today; a missing start, DEFAULT_DAYS before the end, today included."""
        zone = (await self._tenants.get(tenant_id)).time_zone
        if end is None:
            end = self._clock().astimezone(ZoneInfo(zone)).date().isoformat()
        if start is None:
            last = Period.parse(end, end, zone).end
            start = (last - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
        return Period.parse(start, end, zone)

    async def report(self, tenant_id: str, name: ReportName, period: Period) -> Report:
        if name is ReportName.CONVERSATIONS:
            return await self.conversations(tenant_id, period)
        if name is ReportName.PEOPLE:
            return await self.people(tenant_id, period)
        return await self.assistant(tenant_id, period)

    async def page(self, tenant_id: str, period: Period) -> ReportsPage:
        """The three reports as the dashboard's Reports page shows them: the counts made fresh
        once, and all read in one transaction (so they agree with each other)."""
        await self._tally.refresh()
        names = await self._names(tenant_id)
        questions = await self._questions(tenant_id)
        async with self._db.read(tenant_id) as conn:
            conversations = await _conversations(conn, tenant_id, period)
            repository = ReportRepository(conn)
            handled = await repository.handled(tenant_id, period.since, period.until)
            teams = await repository.team_names(tenant_id)
            rated = await repository.ratings(tenant_id, period.since, period.until)
            counts = await _assistant_counts(conn, tenant_id, period)
        return ReportsPage(
            conversations,
            _people(period, handled, rated, names, teams),
            self._assistant(period, counts, questions),
        )

    async def conversations(self, tenant_id: str, period: Period) -> ConversationsReport:
        await self._tally.refresh()
        async with self._db.read(tenant_id) as conn:
            return await _conversations(conn, tenant_id, period)

    async def people(self, tenant_id: str, period: Period) -> PeopleReport:
        await self._tally.refresh()
        async with self._db.read(tenant_id) as conn:
            repository = ReportRepository(conn)
            handled = await repository.handled(tenant_id, period.since, period.until)
            teams = await repository.team_names(tenant_id)
            rated = await repository.ratings(tenant_id, period.since, period.until)
        return _people(period, handled, rated, await self._names(tenant_id), teams)

    async def assistant(self, tenant_id: str, period: Period) -> AssistantReport:
        await self._tally.refresh()
        async with self._db.read(tenant_id) as conn:
            counts = await _assistant_counts(conn, tenant_id, period)
        return self._assistant(period, counts, await self._questions(tenant_id))

    async def _names(self, tenant_id: str) -> dict[str, str]:
        return {m.account_id: m.email for m in await self._members.members(tenant_id)}

    async def _questions(self, tenant_id: str) -> dict[str, str]:
        """The published entries' questions, decrypted as the assistant reads them."""
        return {e.entry_id: e.question for e in await self._knowledge.faq_entries(tenant_id)}

    def _assistant(
        self, period: Period, counts: AssistantCounts, questions: dict[str, str]
    ) -> AssistantReport:
        days = range(len(period.days()))
        by_day = counts.by_day
        total = sum(v for (_, figure, _), v in by_day.items() if figure is Figure.TURNS)
        outcomes = []
        for outcome in Outcome:
            each = [by_day.get((n, Figure.TURNS, outcome.value), 0) for n in days]
            of = sum(each)
            outcomes.append(
                OutcomeFigures(
                    outcome=outcome.value,
                    turns=of,
                    rate=of / total if total else 0.0,
                    by_day=_days(period, each),
                )
            )
        budget = self._daily_token_budget
        tokens = []
        for n, day in enumerate(period.days()):
            i = by_day.get((n, Figure.INPUT_TOKENS, ""), 0)
            o = by_day.get((n, Figure.OUTPUT_TOKENS, ""), 0)
            tokens.append(TokenDay(day, i, o, (i + o) / budget if budget else None))
        most, least = _cited(counts.citations, questions, counts.cited_thumbs)
        thumbs_by_day = [
            ThumbsDay(
                day,
                by_day.get((n, Figure.THUMBS, "up"), 0),
                by_day.get((n, Figure.THUMBS, "down"), 0),
            )
            for n, day in enumerate(period.days())
        ]
        up = sum(d.up for d in thumbs_by_day)
        down = sum(d.down for d in thumbs_by_day)
        return AssistantReport(
            period=period,
            turns=total,
            outcomes=tuple(outcomes),
            reasons=tuple(
                ReasonCount(reason, n)
                for reason, n in sorted(counts.reasons.items(), key=lambda r: (-r[1], r[0]))
            ),
            input_tokens=sum(t.input_tokens for t in tokens),
            output_tokens=sum(t.output_tokens for t in tokens),
            tokens_by_day=tuple(tokens),
            daily_token_budget=budget,
            most_cited=most,
            least_cited=least,
            thumbs=ThumbsFigures(
                up, down, up / (up + down) if up + down else None, tuple(thumbs_by_day)
            ),
        )

    async def export(
        self, tenant_id: str, name: ReportName, period: Period, *, actor: Actor
    ) -> str:
        """One report as CSV text; the export is recorded in the organisation's audit chain
        (the report's name and period, nothing of its figures)."""
        text = as_csv(await self.report(tenant_id, name, period))
        event = ReportExported(
            name.value, period.start.isoformat(), period.end.isoformat(), period.time_zone
        )
        async with self._db.transaction(tenant_id) as conn:
            await self._audit.record(conn, tenant_id, event, actor)
        return text


@dataclass(frozen=True, slots=True)
class AssistantCounts:
    """What the assistant report reads: turns and tokens per local day (keyed by the day's
    index in the period, the figure and the detail), and the period's reasons and citations."""

    by_day: dict[tuple[int, Figure, str], int]
    reasons: dict[str, int]
    citations: dict[str, int]
    # Per cited passage: thumbs up and down on the answers that cited it.
    cited_thumbs: dict[str, tuple[int, int]]


async def _assistant_counts(
    conn: AsyncConnection, tenant_id: str, period: Period
) -> AssistantCounts:
    since, until = period.since, period.until
    repository = CountRepository(conn)
    by_day = await repository.per_span(
        tenant_id,
        [Figure.TURNS, Figure.INPUT_TOKENS, Figure.OUTPUT_TOKENS, Figure.THUMBS],
        period.day_spans(),
    )
    reasons = await repository.by_detail(tenant_id, Figure.TURN_REASONS, since, until)
    citations = await repository.by_detail(tenant_id, Figure.CITATIONS, since, until)
    up = await repository.by_detail(tenant_id, Figure.CITED_THUMBS_UP, since, until)
    down = await repository.by_detail(tenant_id, Figure.CITED_THUMBS_DOWN, since, until)
    cited_thumbs = {e: (up.get(e, 0), down.get(e, 0)) for e in up.keys() | down.keys()}
    return AssistantCounts(by_day, reasons, citations, cited_thumbs)


async def _conversations(
    conn: AsyncConnection, tenant_id: str, period: Period
) -> ConversationsReport:
    since, until = period.since, period.until
    repository = ReportRepository(conn)
    started = await CountRepository(conn).hours(
        tenant_id, Figure.CONVERSATIONS_STARTED, since, until
    )
    handovers = await repository.handovers(tenant_id, period.day_spans())
    outcomes = await repository.outcomes(tenant_id, since, until)
    by_day: Counter[date] = Counter()
    by_hour = [0] * 24
    for hour, n in started:
        local = period.local(hour)
        by_day[local.date()] += n
        by_hour[local.hour] += n
    days = period.days()
    return ConversationsReport(
        period=period,
        started=sum(n for _, n in started),
        started_by_day=tuple(DayCount(day, by_day[day]) for day in days),
        started_by_hour=tuple(by_hour),
        handovers=sum(handovers.values()),
        handovers_by_day=_days(period, [handovers.get(n, 0) for n in range(len(days))]),
        outcomes=outcomes,
    )


def _people(
    period: Period,
    handled: list[Handled],
    rated: list[tuple[int, str, datetime]],
    names: dict[str, str],
    teams: dict[str, str],
) -> PeopleReport:
    by_agent: dict[str, list[Handled]] = {}
    by_team: dict[str, list[Handled]] = {}
    for group in handled:
        by_agent.setdefault(group.agent, []).append(group)
        by_team.setdefault(group.team, []).append(group)
    agents = sorted(
        (AgentTimes(agent, names.get(agent, agent), _times(of)) for agent, of in by_agent.items()),
        key=lambda a: (-a.times.conversations, a.name),
    )
    in_teams = sorted(
        (
            TeamTimes(team, teams.get(team, team) if team else NO_TEAM, _times(of))
            for team, of in by_team.items()
        ),
        key=lambda t: (-t.times.conversations, t.team_id == "", t.name),
    )
    by_day: dict[date, list[int]] = {}
    scores_by_agent: dict[str, list[int]] = {}
    for score, agent_id, at in rated:
        by_day.setdefault(period.local(at).date(), []).append(score)
        scores_by_agent.setdefault(agent_id, []).append(score)
    raters = (
        AgentRatings(
            account,
            names.get(account, account) if account else "nobody assigned",
            rating_figures(scores),
        )
        for account, scores in scores_by_agent.items()
    )
    return PeopleReport(
        period=period,
        overall=_times(handled),
        by_agent=tuple(agents),
        by_team=tuple(in_teams),
        ratings=rating_figures([score for score, _, _ in rated]),
        ratings_by_day=tuple(
            DayRatings(day, rating_figures(by_day.get(day, []))) for day in period.days()
        ),
        ratings_by_agent=tuple(sorted(raters, key=lambda a: (-a.ratings.count, a.name))),
    )


def _days(period: Period, values: list[int]) -> tuple[DayCount, ...]:
    """Values of the period's days, in order, as the days' counts."""
    return tuple(DayCount(day, value) for day, value in zip(period.days(), values, strict=True))


def _cited(
    citations: dict[str, int],
    questions: dict[str, str],
    thumbs: dict[str, tuple[int, int]],
) -> tuple[tuple[CitedPassage, ...], tuple[CitedPassage, ...]]:
    """The most cited passages, and the least cited of the published ones (never cited
    first), each with the thumbs up and down given to answers that cited it."""
    cited = [
        CitedPassage(entry_id, questions.get(entry_id), n, *thumbs.get(entry_id, (0, 0)))
        for entry_id, n in citations.items()
        if n > 0
    ]
    most = sorted(cited, key=lambda p: (-p.citations, p.entry_id))[:CITED]
    published = [
        CitedPassage(entry_id, question, citations.get(entry_id, 0), *thumbs.get(entry_id, (0, 0)))
        for entry_id, question in questions.items()
    ]
    least = sorted(published, key=lambda p: (p.citations, p.question or "", p.entry_id))
    return tuple(most), tuple(least[:CITED])


def _times(handled: list[Handled]) -> HandlingTimes:
    """First response and resolution, both from the episode's handover."""
    first = [us for group in handled for us in group.first_responses]
    resolution = [us for group in handled for us in group.resolutions]
    return HandlingTimes(len(first), percentiles(first), percentiles(resolution))


def rating_figures(scores: list[int]) -> RatingFigures:
    counts = Counter(scores)
    return RatingFigures(
        len(scores),
        round(sum(scores) / len(scores), 2) if scores else None,
        (counts[1], counts[2], counts[3], counts[4], counts[5]),
    )


def percentiles(microseconds: list[int]) -> Percentiles:
    """Nearest rank: the p-th percentile is the smallest value with at least p% of the values
    at or below it (so it is always one of the durations observed). Durations come in whole
    microseconds, sorted as integers; the two chosen are given in seconds (a count of
    microseconds over 10**6 is exactly what `timedelta.total_seconds` gives)."""
    if not microseconds:
        return Percentiles(0, None, None)
    ordered = sorted(microseconds)

    def rank(p: int) -> float:
        return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1] / 1_000_000

    return Percentiles(len(ordered), rank(50), rank(90))
