"""The organisation's reports, as use cases: each reads counts flushed by every process (this
one's first unless it flushed in the last second, `Tally.refresh`, so a single node sees its own
latest events) and conversations' recorded moments, in one transaction scoped to the
organisation (row-level security on PostgreSQL, T-103)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from limits import parse

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
    TokenDay,
)
from parlour.reports.repository import Handled, ReportRepository
from parlour.rollups.models import Count, Figure
from parlour.rollups.period import Period
from parlour.rollups.repository import CountRepository
from parlour.rollups.tally import Tally
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow
from parlour.tenants.service import TenantService

CITED = 10  # passages in each of the most and least cited lists
DEFAULT_DAYS = 30  # a period named by neither end: the last 30 days
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

    async def conversations(self, tenant_id: str, period: Period) -> ConversationsReport:
        await self._tally.refresh()
        since, until = period.since, period.until
        async with self._db.read(tenant_id) as conn:
            repository = ReportRepository(conn)
            started = await CountRepository(conn).hourly(
                tenant_id, [Figure.CONVERSATIONS_STARTED], since, until
            )
            handed = await repository.handed_times(tenant_id, since, until)
            outcomes = await repository.outcomes(tenant_id, since, until)
        handed_days = Counter(period.local(at).date() for at in handed)
        by_hour = [0] * 24
        for count in started:
            by_hour[period.local(count.hour).hour] += count.value
        return ConversationsReport(
            period=period,
            started=sum(n.value for n in started),
            started_by_day=_by_day(period, started),
            started_by_hour=tuple(by_hour),
            handovers=len(handed),
            handovers_by_day=tuple(DayCount(day, handed_days[day]) for day in period.days()),
            outcomes=outcomes,
        )

    async def people(self, tenant_id: str, period: Period) -> PeopleReport:
        await self._tally.refresh()
        async with self._db.read(tenant_id) as conn:
            repository = ReportRepository(conn)
            handled = await repository.handled(tenant_id, period.since, period.until)
            rated = await repository.ratings(tenant_id, period.since, period.until)
        groups: dict[str, list[Handled]] = {}
        for conversation in handled:
            groups.setdefault(conversation.group, []).append(conversation)
        names = {m.account_id: m.email for m in await self._members.members(tenant_id)}
        agents = sorted(
            (
                AgentTimes(account, names.get(account, account), _times(them))
                for account, them in groups.items()
            ),
            key=lambda a: (-a.times.conversations, a.name),
        )
        by_day: dict[date, list[int]] = {}
        by_agent: dict[str, list[int]] = {}
        for score, agent_id, at in rated:
            by_day.setdefault(period.local(at).date(), []).append(score)
            by_agent.setdefault(agent_id, []).append(score)
        return PeopleReport(
            period=period,
            overall=_times(handled),
            by_agent=tuple(agents),
            ratings=rating_figures([score for score, _, _ in rated]),
            ratings_by_day=tuple(
                DayRatings(day, rating_figures(by_day.get(day, []))) for day in period.days()
            ),
            ratings_by_agent=tuple(
                sorted(
                    (
                        AgentRatings(
                            account,
                            names.get(account, account) if account else "nobody assigned",
                            rating_figures(scores),
                        )
                        for account, scores in by_agent.items()
                    ),
                    key=lambda a: (-a.ratings.count, a.name),
                )
            ),
        )

    async def assistant(self, tenant_id: str, period: Period) -> AssistantReport:
        await self._tally.refresh()
        since, until = period.since, period.until
        async with self._db.read(tenant_id) as conn:
            repository = CountRepository(conn)
            counts = await repository.hourly(
                tenant_id, [Figure.TURNS, Figure.INPUT_TOKENS, Figure.OUTPUT_TOKENS], since, until
            )
            reasons = await repository.by_detail(tenant_id, Figure.TURN_REASONS, since, until)
            citations = await repository.by_detail(tenant_id, Figure.CITATIONS, since, until)
        turns = [n for n in counts if n.figure is Figure.TURNS]
        total = sum(n.value for n in turns)
        outcomes = tuple(
            OutcomeFigures(
                outcome=outcome.value,
                turns=(of := sum(n.value for n in turns if n.detail == outcome.value)),
                rate=of / total if total else 0.0,
                by_day=_by_day(period, [n for n in turns if n.detail == outcome.value]),
            )
            for outcome in Outcome
        )
        inputs = _by_day(period, [n for n in counts if n.figure is Figure.INPUT_TOKENS])
        outputs = _by_day(period, [n for n in counts if n.figure is Figure.OUTPUT_TOKENS])
        budget = self._daily_token_budget
        tokens = tuple(
            TokenDay(
                i.day,
                i.value,
                o.value,
                (i.value + o.value) / budget if budget else None,
            )
            for i, o in zip(inputs, outputs, strict=True)
        )
        most, least = await self._cited(tenant_id, citations)
        return AssistantReport(
            period=period,
            turns=total,
            outcomes=outcomes,
            reasons=tuple(
                ReasonCount(reason, n)
                for reason, n in sorted(reasons.items(), key=lambda r: (-r[1], r[0]))
            ),
            input_tokens=sum(t.input_tokens for t in tokens),
            output_tokens=sum(t.output_tokens for t in tokens),
            tokens_by_day=tokens,
            daily_token_budget=budget,
            most_cited=most,
            least_cited=least,
        )

    async def _cited(
        self, tenant_id: str, citations: dict[str, int]
    ) -> tuple[tuple[CitedPassage, ...], tuple[CitedPassage, ...]]:
        """The most cited passages, and the least cited of the published ones (never cited
        first). An entry's question is knowledge, decrypted as the assistant reads it."""
        questions = {e.entry_id: e.question for e in await self._knowledge.faq_entries(tenant_id)}
        cited = [
            CitedPassage(entry_id, questions.get(entry_id), n)
            for entry_id, n in citations.items()
            if n > 0
        ]
        most = sorted(cited, key=lambda p: (-p.citations, p.entry_id))[:CITED]
        published = [
            CitedPassage(entry_id, question, citations.get(entry_id, 0))
            for entry_id, question in questions.items()
        ]
        least = sorted(published, key=lambda p: (p.citations, p.question or "", p.entry_id))
        return tuple(most), tuple(least[:CITED])

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


def _by_day(period: Period, counts: Iterable[Count]) -> tuple[DayCount, ...]:
    """Counts summed by the local day their hour starts in, every day of the period."""
    days: Counter[date] = Counter()
    for count in counts:
        days[period.local(count.hour).date()] += count.value
    return tuple(DayCount(day, days[day]) for day in period.days())


def _times(handled: list[Handled]) -> HandlingTimes:
    """First response and resolution, both from the episode's handover."""
    first = [(h.first_human_reply_at - h.handed_at).total_seconds() for h in handled]
    resolution = [(h.resolved_at - h.handed_at).total_seconds() for h in handled if h.resolved_at]
    return HandlingTimes(len(handled), percentiles(first), percentiles(resolution))


def rating_figures(scores: list[int]) -> RatingFigures:
    counts = Counter(scores)
    return RatingFigures(
        len(scores),
        round(sum(scores) / len(scores), 2) if scores else None,
        (counts[1], counts[2], counts[3], counts[4], counts[5]),
    )


def percentiles(seconds: list[float]) -> Percentiles:
    """Nearest rank: the p-th percentile is the smallest value with at least p% of the values
    at or below it (so it is always one of the durations observed)."""
    if not seconds:
        return Percentiles(0, None, None)
    ordered = sorted(seconds)

    def rank(p: int) -> float:
        return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]

    return Percentiles(len(ordered), rank(50), rank(90))
