"""A report as CSV text: one row per figure, in a long form a spreadsheet pivots at will.

Cells of text that a spreadsheet would run as a formula (starting with = + - @, a tab or a
carriage return) are prefixed with a single quote, as OWASP advises against CSV injection:
an agent's e-mail or an FAQ question is the organisation's own text, and a report goes to
people who open it in a spreadsheet. Numbers are written as numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from parlour.reports.models import (
    AgentTimes,
    AssistantReport,
    ConversationsReport,
    HandlingTimes,
    PeopleReport,
    RatingFigures,
    TeamTimes,
)

Cell = str | int | float | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Cell) -> Cell:
    """A cell a spreadsheet shows as text, never runs (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def as_csv(report: ConversationsReport | PeopleReport | AssistantReport) -> str:
    if isinstance(report, ConversationsReport):
        header, rows = _conversations(report)
    elif isinstance(report, PeopleReport):
        header, rows = _people(report)
    else:
        header, rows = _assistant(report)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()


Rows = tuple[Sequence[str], Iterable[Sequence[Cell]]]


def _conversations(report: ConversationsReport) -> Rows:
    rows: list[Sequence[Cell]] = []
    rows += [("started", d.day.isoformat(), d.value) for d in report.started_by_day]
    rows += [("started_by_hour", f"{hour:02d}", n) for hour, n in enumerate(report.started_by_hour)]
    rows += [("handovers", d.day.isoformat(), d.value) for d in report.handovers_by_day]
    outcomes = report.outcomes
    rows += [
        ("outcome", "resolved_by_assistant", outcomes.resolved_by_assistant),
        ("outcome", "handed_to_person", outcomes.handed_to_person),
        ("outcome", "abandoned", outcomes.abandoned),
    ]
    return ("figure", "key", "value"), rows


def _people(report: PeopleReport) -> Rows:
    """One row per agent (and "all"): handling times, and the ratings of the conversations they
    had; then one row per local day with that day's ratings (`day` set, times empty); then one
    row per team with its handling times (`team_id` and `team` set, the agent's cells empty;
    "no team" with an empty id for the conversations in none)."""
    ratings = {a.account_id: a.ratings for a in report.ratings_by_agent}

    def rated(figures: RatingFigures | None) -> tuple[Cell, Cell]:
        if figures is None:
            return 0, None
        return figures.count, figures.average

    def row(
        account_id: str, name: str, times: HandlingTimes, figures: RatingFigures | None
    ) -> Sequence[Cell]:
        first, resolution = times.first_response, times.resolution
        return (
            account_id,
            name,
            times.conversations,
            first.p50_seconds,
            first.p90_seconds,
            resolution.p50_seconds,
            resolution.p90_seconds,
            *rated(figures),
            "",
            "",
            "",
        )

    header = (
        "agent_id",
        "agent",
        "conversations",
        "first_response_p50_seconds",
        "first_response_p90_seconds",
        "resolution_p50_seconds",
        "resolution_p90_seconds",
        "ratings",
        "rating_average",
        "day",
        "team_id",
        "team",
    )
    agents: list[AgentTimes] = list(report.by_agent)
    rows: list[Sequence[Cell]] = [
        row("", "all", report.overall, report.ratings),
        *(row(a.account_id, a.name, a.times, ratings.get(a.account_id)) for a in agents),
    ]
    timed = {a.account_id for a in agents}
    # Members rated for conversations they did not first answer in the period.
    rows += [
        (a.account_id, a.name, 0, None, None, None, None, *rated(a.ratings), "", "", "")
        for a in report.ratings_by_agent
        if a.account_id not in timed
    ]
    rows += [
        ("", "all", None, None, None, None, None, *rated(d.ratings), d.day.isoformat(), "", "")
        for d in report.ratings_by_day
    ]
    rows += [_team_row(t) for t in report.by_team]
    return header, rows


def _team_row(team: TeamTimes) -> Sequence[Cell]:
    first, resolution = team.times.first_response, team.times.resolution
    return (
        "",
        "",
        team.times.conversations,
        first.p50_seconds,
        first.p90_seconds,
        resolution.p50_seconds,
        resolution.p90_seconds,
        None,
        None,
        "",
        team.team_id,
        team.name,
    )


def _assistant(report: AssistantReport) -> Rows:
    rows: list[Sequence[Cell]] = []
    for outcome in report.outcomes:
        rows.append(("turns", outcome.outcome, "", outcome.turns))
        rows.append(("rate", outcome.outcome, "", round(outcome.rate, 6)))
        rows += [
            ("turns_by_day", outcome.outcome, d.day.isoformat(), d.value) for d in outcome.by_day
        ]
    rows += [("reason", r.reason, "", r.turns) for r in report.reasons]
    for day in report.tokens_by_day:
        rows.append(("input_tokens", day.day.isoformat(), "", day.input_tokens))
        rows.append(("output_tokens", day.day.isoformat(), "", day.output_tokens))
        if day.budget_share is not None:
            rows.append(("budget_share", day.day.isoformat(), "", round(day.budget_share, 6)))
    thumbs = report.thumbs
    rows.append(("thumbs", "up", "", thumbs.up))
    rows.append(("thumbs", "down", "", thumbs.down))
    if thumbs.up_rate is not None:
        rows.append(("thumbs_up_rate", "", "", round(thumbs.up_rate, 6)))
    for d in thumbs.by_day:
        rows.append(("thumbs_by_day", "up", d.day.isoformat(), d.up))
        rows.append(("thumbs_by_day", "down", d.day.isoformat(), d.down))
    for name, passages in (("most_cited", report.most_cited), ("least_cited", report.least_cited)):
        for p in passages:
            rows.append((name, p.entry_id, p.question or "", p.citations))
            rows.append((f"{name}_thumbs_up", p.entry_id, p.question or "", p.thumbs_up))
            rows.append((f"{name}_thumbs_down", p.entry_id, p.question or "", p.thumbs_down))
    return ("figure", "key", "detail", "value"), rows
