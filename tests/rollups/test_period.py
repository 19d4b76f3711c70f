"""A report's period: whole local days, bounded in UTC, at most 366 of them."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from parlour.rollups.period import InvalidPeriod, Period


def test_a_period_runs_from_local_midnight_to_the_local_midnight_after_its_last_day() -> None:
    period = Period.parse("2026-03-07", "2026-03-08", "America/New_York")  # DST starts on the 8th

    assert period.since == datetime(2026, 3, 7, 5, 0, tzinfo=UTC)
    assert period.until == datetime(2026, 3, 9, 4, 0, tzinfo=UTC)
    assert period.days() == [date(2026, 3, 7), date(2026, 3, 8)]


def test_a_half_hour_zone_starts_its_days_on_the_half_hour() -> None:
    period = Period(date(2026, 3, 2), date(2026, 3, 2), "Asia/Kolkata")

    assert period.since == datetime(2026, 3, 1, 18, 30, tzinfo=UTC)
    assert period.local(datetime(2026, 3, 1, 19, 0, tzinfo=UTC)).date() == date(2026, 3, 2)


@pytest.mark.parametrize(
    ("start", "end", "zone"),
    [
        ("2026-03-02", "2026-03-01", "UTC"),  # ends before it starts
        ("2025-01-01", "2026-01-02", "UTC"),  # 367 days
        ("20260301", "20260302", "UTC"),  # not YYYY-MM-DD
        ("2026-02-30", "2026-03-01", "UTC"),
        ("2026-03-01", "2026-03-02", "Mars/Olympus_Mons"),
    ],
)
def test_a_bad_period_is_refused(start: str, end: str, zone: str) -> None:
    with pytest.raises(InvalidPeriod):
        Period.parse(start, end, zone)


def test_a_year_of_366_days_is_a_period() -> None:
    assert len(Period.parse("2024-01-01", "2024-12-31", "UTC").days()) == 366
