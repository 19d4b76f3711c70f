"""What security monitoring reads and sends: the figures it watches, their days, an alert."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from parlour.rollups.models import Figure

# The figures an organisation's security report shows and its alerts watch, in the order shown.
SECURITY_FIGURES: tuple[Figure, ...] = (
    Figure.FOREIGN_ORIGINS,
    Figure.TOKEN_FAILURES,
    Figure.RATE_LIMITED,
    Figure.QUARANTINED_UPLOADS,
    Figure.BLOCKED_ANSWERS,
    Figure.WITHHELD_TOOLS,
    Figure.WEBHOOK_FAILURES,
)

# How each figure is named to people (mails, the dashboard).
TITLES: dict[Figure, str] = {
    Figure.FOREIGN_ORIGINS: "Connections refused for a foreign origin",
    Figure.TOKEN_FAILURES: "End-user tokens refused",
    Figure.RATE_LIMITED: "Refusals for a rate limit",
    Figure.QUARANTINED_UPLOADS: "Uploaded passages held back for review",
    Figure.BLOCKED_ANSWERS: "Answers blocked by the output filter",
    Figure.WITHHELD_TOOLS: "MCP tools withheld (definition changed)",
    Figure.WEBHOOK_FAILURES: "Webhook deliveries that failed",
}


@dataclass(frozen=True, slots=True)
class FigureDay:
    """A figure's count on one day in the organisation's time zone, and by detail (the reason,
    the limit: a code's constant, "" where the figure has none)."""

    day: date
    total: int
    details: dict[str, int]


@dataclass(frozen=True, slots=True)
class FigureSeries:
    figure: Figure
    title: str
    days: tuple[FigureDay, ...]  # every day of the period, in order, days without any at 0

    @property
    def total(self) -> int:
        return sum(d.total for d in self.days)


@dataclass(frozen=True, slots=True)
class SecurityReport:
    """An organisation's security figures per local day over [start, end]."""

    tenant_id: str
    time_zone: str
    start: date
    end: date
    figures: tuple[FigureSeries, ...]


@dataclass(frozen=True, slots=True)
class Baseline:
    """What a figure's previous days make ordinary: their median and median absolute
    deviation, and the count above which a day is a jump (`parlour.alerts.rule`)."""

    days: int
    median: float
    mad: float
    threshold: float


@dataclass(frozen=True, slots=True)
class Alert:
    """A figure that jumped: counts, reasons and the baseline only, never customer text, an end
    user's id or a secret (T-106)."""

    alert_id: str
    tenant_id: str
    figure: Figure
    day: date  # in the organisation's time zone, so far when `at` is that day
    time_zone: str
    count: int
    details: dict[str, int]
    baseline: Baseline
    at: datetime
