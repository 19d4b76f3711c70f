"""A report's period: whole local days of the organisation, from `start` to `end` inclusive.

Counts are kept per UTC hour. A UTC hour belongs to the local day (and local hour of day) in
which it starts: in a zone whose offset is not a whole number of hours (Asia/Kolkata, +05:30),
the hour 18:00-19:00 UTC starts at 23:30 local and so counts wholly for that day and hour 23.
Conversations themselves are timed to the instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parlour.errors import InvalidInput


class InvalidPeriod(InvalidInput):
    code = "invalid_period"
    default_message = "Name a period of whole days: from and to as YYYY-MM-DD, at most 366 days."


@dataclass(frozen=True, slots=True)
class Period:
    start: date
    end: date  # inclusive
    time_zone: str  # IANA name

    MAX_DAYS: ClassVar[int] = 366
    # Years a period may name: every local midnight of them, and the one after the last day,
    # is an instant Python can hold in every time zone (0001-01-01 in Asia/Tokyo is not).
    FIRST_YEAR: ClassVar[int] = 1970
    LAST_YEAR: ClassVar[int] = 9998

    def __post_init__(self) -> None:
        if self.start.year < self.FIRST_YEAR or self.end.year > self.LAST_YEAR:
            raise InvalidPeriod(
                f"A period lies between the years {self.FIRST_YEAR} and {self.LAST_YEAR}."
            )
        if self.end < self.start:
            raise InvalidPeriod("The period ends before it starts.")
        if (self.end - self.start).days + 1 > self.MAX_DAYS:
            raise InvalidPeriod(f"A report covers at most {self.MAX_DAYS} days.")
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidPeriod("The time zone is not one of the IANA database.") from None

    @classmethod
    def parse(cls, start: str, end: str, time_zone: str) -> Period:
        """A period from ISO dates (YYYY-MM-DD), as a request names them."""
        try:
            first, last = date.fromisoformat(start), date.fromisoformat(end)
        except ValueError:
            raise InvalidPeriod() from None
        if len(start) != 10 or len(end) != 10:
            raise InvalidPeriod()
        return cls(first, last, time_zone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def since(self) -> datetime:
        """The first instant of the period, in UTC."""
        return _midnight(self.start, self.zone)

    @property
    def until(self) -> datetime:
        """The first instant after the period, in UTC."""
        return _midnight(self.end + timedelta(days=1), self.zone)

    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    def day_spans(self) -> list[tuple[datetime, datetime]]:
        """Each day of the period as the UTC instants it starts at and the next starts at:
        an instant (or an hour's start) in [since, until) is of that day."""
        midnights = [_midnight(day, self.zone) for day in self.days()]
        return list(zip(midnights, [*midnights[1:], self.until], strict=True))

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
