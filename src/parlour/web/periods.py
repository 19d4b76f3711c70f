"""A report's period as people give it: two calendar days, the first and the last included, in
the organisation's time zone; turned into the UTC instants the use cases count between."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from parlour.errors import InvalidInput

MAX_DAYS = 366


def utc_bounds(first: date, last: date, time_zone: str) -> tuple[datetime, datetime]:
    """[start of `first`, start of the day after `last`) in `time_zone`, as UTC."""
    if last < first:
        raise InvalidInput("The period's last day comes before its first.")
    if (last - first).days >= MAX_DAYS:
        raise InvalidInput(f"A period may be at most {MAX_DAYS} days long.")
    zone = ZoneInfo(time_zone)
    since = datetime.combine(first, time(), zone).astimezone(UTC)
    until = datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)
    return since, until


def parse_day(value: str, field: str) -> date:
    """A YYYY-MM-DD day, or the error that says which field is wrong."""
    try:
        if len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{field} must be a day written YYYY-MM-DD.", details={"field": field}
        ) from None
