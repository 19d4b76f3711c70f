"""The Reports page: an organisation's conversations, the people who handled them and the
assistant, over a range of its local days (the last 30 by default), as charts with their tables;
and each report as a CSV download, which the reports service records in the audit chain with the
member who asked for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from markupsafe import Markup

from parlour.identity.policy import Permission, role_grants
from parlour.reports.models import (
    AssistantReport,
    ConversationsReport,
    HandlingTimes,
    PeopleReport,
)
from parlour.web.dashboard.assistant import REASONS
from parlour.web.dashboard.charts import Series, bar_chart, series_chart
from parlour.web.dashboard.pages import member_page, render
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member
from parlour.web.report_downloads import report_csv

router = APIRouter(include_in_schema=False)

Analyst = Annotated[Member, Depends(member_page(Permission.VIEW_ANALYTICS))]
# The dates as sent; the reports' own Period says what a good one is (and the page, if not).
From = Annotated[str | None, Query(alias="from")]
To = Annotated[str | None, Query(alias="to")]
# A budget's burn is drawn when a day used this share of it (whole percents); below, its table
# says it, as a bar of 0% would say nothing.
CHARTED_SHARE = 0.01
OUTCOMES = {
    "answered": "Answered",
    "abstained": "Abstained",
    "offered": "Offered choices",
    "blocked": "Blocked",
    "fallback": "Fallback",
    "refused": "Refused",
}


@dataclass(frozen=True, slots=True)
class TimesRow:
    """One line of the people table, its durations said as a person reads them."""

    name: str
    conversations: int
    first_p50: str
    first_p90: str
    resolution_p50: str
    resolution_p90: str


def duration(seconds: float | None) -> str:
    """`45 s`, `4 min 10 s`, `2 h 5 min`, `3 d 4 h`; an em dash for none."""
    if seconds is None:
        return "—"
    whole = round(seconds)
    days, rest = divmod(whole, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


def _row(name: str, times: HandlingTimes) -> TimesRow:
    first, resolution = times.first_response, times.resolution
    return TimesRow(
        name,
        times.conversations,
        duration(first.p50_seconds),
        duration(first.p90_seconds),
        duration(resolution.p50_seconds),
        duration(resolution.p90_seconds),
    )


def _tick(day: date) -> str:
    return f"{day.day} {day:%b}"


def _share(rate: float | None) -> str:
    """`40%`, `12.5%`, `under 0.1%`: a rate or a share of a budget."""
    if rate is None:
        return "—"
    if 0 < rate < 0.001:
        return "under 0.1%"
    return f"{rate:.0%}" if float(round(rate * 100, 1)).is_integer() else f"{rate:.1%}"


def _conversation_charts(report: ConversationsReport) -> list[Markup]:
    days = [d.day for d in report.started_by_day]
    labels = [d.isoformat() for d in days]
    ticks = [_tick(d) for d in days]
    outcomes = report.outcomes
    return [
        bar_chart(
            "conversations-by-day",
            "Conversations started, by day",
            labels,
            [d.value for d in report.started_by_day],
            label_heading="Day",
            value_heading="Conversations",
            ticks=ticks,
            empty="No conversations in this period.",
        ),
        bar_chart(
            "conversations-by-hour",
            "Conversations started, by hour of the day",
            [f"{hour:02d}:00" for hour in range(24)],
            list(report.started_by_hour),
            label_heading="Hour",
            value_heading="Conversations",
            empty="No conversations in this period.",
        ),
        bar_chart(
            "conversation-outcomes",
            "How the conversations ended",
            ["Resolved by the assistant", "Answered by a person", "Abandoned"],
            [outcomes.resolved_by_assistant, outcomes.handed_to_person, outcomes.abandoned],
            label_heading="Ending",
            value_heading="Conversations",
            ticks=["The assistant", "A person", "Abandoned"],
            empty="No conversations in this period.",
        ),
        bar_chart(
            "handovers-by-day",
            "Conversations handed over to people, by day",
            labels,
            [d.value for d in report.handovers_by_day],
            label_heading="Day",
            value_heading="Handovers",
            ticks=ticks,
            empty="No handovers in this period.",
        ),
    ]


def _rating_charts(report: PeopleReport) -> list[Markup]:
    """Customers' ratings by day, each score a part of the day's bar."""
    days = [d.day for d in report.ratings_by_day]
    return [
        series_chart(
            "ratings-by-day",
            "Customers' ratings, by day",
            [d.isoformat() for d in days],
            [
                Series(
                    f"{score} of 5", [d.ratings.scores[score - 1] for d in report.ratings_by_day]
                )
                for score in range(1, 6)
            ],
            label_heading="Day",
            ticks=[_tick(d) for d in days],
            empty="No ratings in this period.",
        )
    ]


def _average(value: float | None) -> str:
    return "none" if value is None else f"{value:.2f}"


def _assistant_charts(report: AssistantReport) -> list[Markup]:
    days = [t.day for t in report.tokens_by_day]
    labels = [d.isoformat() for d in days]
    ticks = [_tick(d) for d in days]
    charts = [
        series_chart(
            "turn-outcomes-by-day",
            "How the assistant's turns ended, by day",
            labels,
            [
                Series(OUTCOMES.get(o.outcome, o.outcome), [d.value for d in o.by_day])
                for o in report.outcomes
            ],
            label_heading="Day",
            ticks=ticks,
            empty="The assistant took no turns in this period.",
        ),
        series_chart(
            "tokens-by-day",
            "Tokens used, by day",
            labels,
            [
                Series("Input", [t.input_tokens for t in report.tokens_by_day]),
                Series("Output", [t.output_tokens for t in report.tokens_by_day]),
            ],
            label_heading="Day",
            stacked=False,
            ticks=ticks,
            empty="No tokens used in this period.",
        ),
    ]
    thumbs = report.thumbs.by_day
    charts.append(
        series_chart(
            "thumbs-by-day",
            "Customers' thumbs on answers, by day",
            [d.day.isoformat() for d in thumbs],
            [
                Series("Thumbs up", [d.up for d in thumbs]),
                Series("Thumbs down", [d.down for d in thumbs]),
            ],
            label_heading="Day",
            ticks=[_tick(d.day) for d in thumbs],
            empty="No thumbs on answers in this period.",
        )
    )
    shares = [t.budget_share or 0.0 for t in report.tokens_by_day]
    if report.daily_token_budget is not None and max(shares, default=0) >= CHARTED_SHARE:
        charts.append(
            bar_chart(
                "budget-by-day",
                "Share of the daily token budget used, by day",
                labels,
                [round(share * 100) for share in shares],
                label_heading="Day",
                value_heading="Share of the budget",
                ticks=ticks,
                unit="%",
                empty="No tokens used in this period.",
            )
        )
    return charts


@router.get("/dashboard/o/{tenant_id}/reports")
async def reports_page(
    who: Analyst,
    services: ServicesDep,
    request: Request,
    start: From = None,
    end: To = None,
) -> Response:
    period = await services.reports.period(who.tenant_id, start, end)
    page = await services.reports.page(who.tenant_id, period)
    conversations, people, assistant = page.conversations, page.people, page.assistant
    gaps = await services.knowledge.gaps.clusters(who.tenant_id, period.since, period.until)
    security = await services.security_figures.report(who.tenant_id, period)
    return render(
        request,
        "reports.html",
        who=who,
        period=period,
        days=(period.end - period.start).days + 1,
        conversations=conversations,
        conversation_charts=_conversation_charts(conversations),
        people=people,
        overall=_row("Everyone", people.overall),
        agents=[_row(a.name, a.times) for a in people.by_agent],
        teams=[_row(t.name, t.times) for t in people.by_team],
        rating_charts=_rating_charts(people),
        average=_average,
        assistant=assistant,
        assistant_charts=_assistant_charts(assistant),
        outcome_names=OUTCOMES,
        share=_share,
        reasons=REASONS,
        gaps=gaps,
        security=security,
        can_add_entries=role_grants(who.membership.role, Permission.MANAGE_KNOWLEDGE),
        query=f"from={period.start.isoformat()}&to={period.end.isoformat()}",
    )


@router.get("/dashboard/o/{tenant_id}/reports/{name}.csv")
async def download(
    name: str,
    who: Analyst,
    services: ServicesDep,
    start: From = None,
    end: To = None,
) -> Response:
    """The report as a CSV file; the reports service records the export, and who asked."""
    return await report_csv(services, who.tenant_id, name, start, end, actor=who.actor)
