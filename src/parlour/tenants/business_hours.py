"""An organisation's business hours: a weekly schedule read in its time zone, dates it is closed,
and the reply time it promises customers who write when nobody is there (issue 22, T-101).

The rules are pure: whether a moment is within the hours, and the next opening after it. A
period is a weekday with a start and an end ("09:00"-"17:30"), end after start, within the day;
a day may have several. An organisation that never set hours is open all week (`ALWAYS_OPEN`).
Local times that a clock change skips or repeats are read as the zone reads them (`zoneinfo`,
fold 0): an opening at 02:30 on a spring-forward night opens at 03:30.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from parlour.errors import InvalidInput
from parlour.identifiers import first_refused

MAX_PERIODS = 7 * 4
MAX_CLOSED_DATES = 366
MAX_REPLY_TIME = 100
DEFAULT_REPLY_TIME = "within a day"
_CLOCK = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True, slots=True)
class Period:
    """Open on `weekday` (0 Monday … 6 Sunday) from `start` to `end`, local time."""

    weekday: int
    start: time
    end: time


@dataclass(frozen=True, slots=True)
class BusinessHours:
    periods: tuple[Period, ...]
    closed_dates: frozenset[date] = field(default_factory=frozenset)
    reply_time: str = DEFAULT_REPLY_TIME
    configured: bool = True  # False: never set, open all week

    def is_open(self, now: datetime, time_zone: str) -> bool:
        if not self.configured:
            return True
        local = now.astimezone(ZoneInfo(time_zone))
        if local.date() in self.closed_dates:
            return False
        moment = local.time().replace(tzinfo=None)
        return any(p.weekday == local.weekday() and p.start <= moment < p.end for p in self.periods)

    def next_opening(self, now: datetime, time_zone: str) -> datetime | None:
        """The first opening after `now` (UTC), within the coming year; None when there is
        none (no periods, or every day closed)."""
        if not self.configured:
            return None
        zone = ZoneInfo(time_zone)
        local = now.astimezone(zone)
        for days in range(0, 367):
            day = local.date() + timedelta(days=days)
            if day in self.closed_dates:
                continue
            starts = sorted(p.start for p in self.periods if p.weekday == day.weekday())
            for start in starts:
                opening = datetime.combine(day, start, tzinfo=zone)
                if opening > local:
                    return opening.astimezone(now.tzinfo)
        return None


ALWAYS_OPEN = BusinessHours(periods=(), configured=False)


def parse_clock(text: str) -> time:
    match = _CLOCK.fullmatch(text)
    if match is None:
        raise InvalidInput(f"{text[:20]!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return time(int(match[1]), int(match[2]))


def checked(
    periods: Sequence[tuple[int, str, str]],
    closed_dates: Iterable[str],
    reply_time: str,
) -> BusinessHours:
    """Business hours from what a person typed, or InvalidInput saying what is wrong."""
    if len(periods) > MAX_PERIODS:
        raise InvalidInput(f"at most {MAX_PERIODS} opening periods")
    parsed: list[Period] = []
    for weekday, start, end in periods:
        if not 0 <= weekday <= 6:
            raise InvalidInput("a weekday is 0 (Monday) to 6 (Sunday)")
        opens, closes = parse_clock(start), parse_clock(end)
        if closes <= opens:
            raise InvalidInput(f"a period must end after it starts ({start}-{end})")
        period = Period(weekday, opens, closes)
        if any(p.weekday == weekday and p.start < closes and opens < p.end for p in parsed):
            raise InvalidInput(f"periods on the same day overlap ({start}-{end})")
        parsed.append(period)
    dates = list(closed_dates)
    if len(dates) > MAX_CLOSED_DATES:
        raise InvalidInput(f"at most {MAX_CLOSED_DATES} closed dates")
    closed: set[date] = set()
    for text in dates:
        try:
            closed.add(date.fromisoformat(text))
        except ValueError:
            raise InvalidInput(f"{text[:20]!r} is not a date as YYYY-MM-DD") from None
    promise = " ".join(reply_time.split())
    if not promise or len(promise) > MAX_REPLY_TIME or first_refused(promise) is not None:
        raise InvalidInput(
            f"the reply time is a short text (e.g. within 4 hours), 1 to {MAX_REPLY_TIME} "
            "characters, without control, bidirectional or invisible characters"
        )
    parsed.sort(key=lambda p: (p.weekday, p.start))
    return BusinessHours(tuple(parsed), frozenset(closed), promise)


def stored(hours: BusinessHours) -> tuple[list[list[object]], list[str]]:
    """The schedule and closed dates as stored (JSON)."""
    return (
        [[p.weekday, p.start.strftime("%H:%M"), p.end.strftime("%H:%M")] for p in hours.periods],
        sorted(d.isoformat() for d in hours.closed_dates),
    )


def from_stored(schedule: list[list[object]], closed: list[str], reply_time: str) -> BusinessHours:
    return BusinessHours(
        tuple(
            Period(int(str(w)), parse_clock(str(s)), parse_clock(str(e))) for w, s, e in schedule
        ),
        frozenset(date.fromisoformat(d) for d in closed),
        reply_time,
    )
