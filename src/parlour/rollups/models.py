"""What reports count: a closed vocabulary of figures, each with a bounded detail."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum


class Figure(StrEnum):
    """A figure counted per organisation and hour. Its detail (a closed set per figure, or a
    passage's id) says which kind; "" where a figure has none."""

    CONVERSATIONS_STARTED = "conversations.started"
    MESSAGES = "messages"  # detail: the author (user, assistant, agent)
    TURNS = "assistant.turns"  # detail: the outcome (answered, abstained, blocked, …)
    TURN_REASONS = "assistant.reasons"  # detail: why a turn ended so (model_timed_out, …)
    INPUT_TOKENS = "assistant.input_tokens"
    OUTPUT_TOKENS = "assistant.output_tokens"
    CITATIONS = "assistant.citations"  # detail: the cited entry's id
    # CITATIONS again, per UTC day (its `hour` is the day's midnight): see BY_DAY.
    DAILY_CITATIONS = "assistant.citations.daily"
    # Customers' thumbs on answers (issue 23): detail "up" or "down", counted when given; and
    # the same per passage the answer cited (detail: the entry's id), one figure each way.
    THUMBS = "assistant.thumbs"
    CITED_THUMBS_UP = "assistant.cited.thumbs_up"
    CITED_THUMBS_DOWN = "assistant.cited.thumbs_down"
    # Security monitoring: what an organisation's alerts watch (issue 21, T-106).
    FOREIGN_ORIGINS = "security.foreign_origin"  # handshakes refused for an origin not allowed
    TOKEN_FAILURES = "security.token_failure"  # noqa: S105 (a name) detail: the reason
    RATE_LIMITED = "security.rate_limited"  # detail: the limit
    QUARANTINED_UPLOADS = "security.quarantined_upload"
    BLOCKED_ANSWERS = "security.blocked_answer"  # detail: the filter's reason
    WITHHELD_TOOLS = "security.withheld_tool"
    WEBHOOK_FAILURES = "security.webhook_failure"


# Figures also kept per UTC day, under a figure of their own: a report of a period's total sums
# a passage's citations over 24 times fewer rows (a month of 45 cited passages: 30,000 hourly
# rows, 1,350 daily ones). The hours of a period that do not fill a UTC day (a local midnight is
# rarely a UTC one) are read from the hourly rows, so a total stays exact (repository.by_detail).
BY_DAY = {Figure.CITATIONS: Figure.DAILY_CITATIONS}

# A detail longer than this is cut: every detail is a code's constant or an id.
DETAIL_CHARS = 64


@dataclass(frozen=True, slots=True)
class Count:
    """How much of a figure, of one detail, an organisation had in one hour (UTC)."""

    tenant_id: str
    figure: Figure
    detail: str
    hour: datetime
    value: int


def day_of(at: datetime) -> datetime:
    """The UTC midnight that starts the day of `at` (a UTC instant)."""
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def kept(counts: Sequence[Count]) -> list[Count]:
    """The rows that store these counts: each count, and for a figure also kept per day
    (BY_DAY) its day's share, summed per day."""
    days: Counter[tuple[str, Figure, str, datetime]] = Counter()
    for c in counts:
        daily = BY_DAY.get(c.figure)
        if daily is not None:
            days[(c.tenant_id, daily, c.detail, day_of(c.hour))] += c.value
    return [*counts, *(Count(t, f, d, day, v) for (t, f, d, day), v in days.items())]
