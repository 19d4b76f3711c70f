"""What a report holds: frozen figures, ready for a page, a JSON response or a CSV file.

Days and hours are the organisation's local ones (see `period.Period`); durations are seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from parlour.errors import NotFound
from parlour.rollups.period import Period


class ReportName(StrEnum):
    CONVERSATIONS = "conversations"
    PEOPLE = "people"
    ASSISTANT = "assistant"


class UnknownReport(NotFound):
    code = "unknown_report"
    default_message = "There is no such report; ask for conversations, people or assistant."


def report_named(name: str) -> ReportName:
    try:
        return ReportName(name)
    except ValueError:
        raise UnknownReport() from None


@dataclass(frozen=True, slots=True)
class DayCount:
    """How many of something on one local day."""

    day: date
    value: int


@dataclass(frozen=True, slots=True)
class ConversationOutcomes:
    """How the period's conversations ended so far (each counted in exactly one class).

    resolved_by_assistant: never handed to a person, and the assistant's last turn answered.
    handed_to_person: a person replied.
    abandoned: the rest (handed over but no person replied; or the assistant's last turn did
    not answer and no person came; or the assistant never took a turn)."""

    resolved_by_assistant: int
    handed_to_person: int
    abandoned: int

    @property
    def total(self) -> int:
        return self.resolved_by_assistant + self.handed_to_person + self.abandoned


@dataclass(frozen=True, slots=True)
class ConversationsReport:
    period: Period
    started: int  # conversations started in the period (the counts)
    started_by_day: tuple[DayCount, ...]  # every local day of the period, zeros included
    started_by_hour: tuple[int, ...]  # 24 values: local hour of day 0..23
    handovers: int  # conversations handed to people (queued or taken) in the period: episodes
    handovers_by_day: tuple[DayCount, ...]
    outcomes: ConversationOutcomes  # of the conversations started in the period


@dataclass(frozen=True, slots=True)
class Percentiles:
    """The nearest-rank p50 and p90 of `count` durations in seconds; None when count is 0."""

    count: int
    p50_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True, slots=True)
class HandlingTimes:
    """Of conversations handed to people in the period (their latest episode) that a person
    replied to: how long the first reply took after the handover, and how long from the
    handover to the resolution."""

    conversations: int
    first_response: Percentiles
    resolution: Percentiles


@dataclass(frozen=True, slots=True)
class AgentTimes:
    account_id: str
    name: str  # the member's e-mail; the account id when they are no longer a member
    times: HandlingTimes


@dataclass(frozen=True, slots=True)
class TeamTimes:
    team_id: str  # "" for conversations in no team
    name: str  # the team's name; "no team" for those in none
    times: HandlingTimes


@dataclass(frozen=True, slots=True)
class RatingFigures:
    """Customers' ratings (1 to 5) given in the period: how many, their mean (None when there
    are none), and how many of each score (index 0 is score 1)."""

    count: int
    average: float | None
    scores: tuple[int, int, int, int, int]


@dataclass(frozen=True, slots=True)
class DayRatings:
    day: date
    ratings: RatingFigures


@dataclass(frozen=True, slots=True)
class AgentRatings:
    account_id: str  # "" for ratings of conversations nobody was assigned
    name: str
    ratings: RatingFigures


@dataclass(frozen=True, slots=True)
class PeopleReport:
    period: Period
    overall: HandlingTimes
    by_agent: tuple[AgentTimes, ...]  # most conversations first
    # By the team each conversation is in (the desk's teams, chat/teams.py; a deleted team's
    # conversations are in none), most conversations first.
    by_team: tuple[TeamTimes, ...] = ()
    # Customers' ratings of resolutions (chat/ratings.py), by the local day they were given and
    # by the member who had the conversation.
    ratings: RatingFigures = RatingFigures(0, None, (0, 0, 0, 0, 0))
    ratings_by_day: tuple[DayRatings, ...] = ()
    ratings_by_agent: tuple[AgentRatings, ...] = ()  # most ratings first


@dataclass(frozen=True, slots=True)
class OutcomeFigures:
    outcome: str  # answered, abstained, offered, blocked, fallback, refused
    turns: int
    rate: float  # share of the period's turns, 0..1 (0 when there were none)
    by_day: tuple[DayCount, ...]


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason: str  # a code: model_timed_out, canary, budget, …
    turns: int


@dataclass(frozen=True, slots=True)
class TokenDay:
    day: date
    input_tokens: int
    output_tokens: int
    budget_share: float | None  # (input + output) / the daily budget; None without a budget


@dataclass(frozen=True, slots=True)
class CitedPassage:
    entry_id: str
    question: str | None  # None when the entry is no longer in the published knowledge
    citations: int
    # Customers' thumbs on answers that cited it, given in the period (issue 23).
    thumbs_up: int = 0
    thumbs_down: int = 0


@dataclass(frozen=True, slots=True)
class ThumbsDay:
    day: date
    up: int
    down: int


@dataclass(frozen=True, slots=True)
class ThumbsFigures:
    """Customers' thumbs on the assistant's answers, given in the period (widget's `feedback`
    frame): how many each way, the share of them that were up (None with none), and by day."""

    up: int
    down: int
    up_rate: float | None
    by_day: tuple[ThumbsDay, ...]


@dataclass(frozen=True, slots=True)
class AssistantReport:
    period: Period
    turns: int
    outcomes: tuple[OutcomeFigures, ...]  # every outcome, in a fixed order
    reasons: tuple[ReasonCount, ...]  # most frequent first
    input_tokens: int
    output_tokens: int
    tokens_by_day: tuple[TokenDay, ...]
    daily_token_budget: int | None  # tokens per organisation per day (settings)
    most_cited: tuple[CitedPassage, ...]
    least_cited: tuple[CitedPassage, ...]  # published entries never cited come first
    thumbs: ThumbsFigures = ThumbsFigures(0, 0, None, ())


@dataclass(frozen=True, slots=True)
class ReportsPage:
    """The dashboard's Reports page: the three reports of one period, read together."""

    conversations: ConversationsReport
    people: PeopleReport
    assistant: AssistantReport
