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
        ("9999-12-31", "9999-12-31", "UTC"),  # no midnight after it
        ("0001-01-01", "0001-01-01", "Asia/Tokyo"),  # its midnight is before year 1 in UTC
        ("1969-12-31", "1970-01-01", "UTC"),
        ("9998-12-31", "9999-01-01", "UTC"),
    ],
)
def test_a_bad_period_is_refused(start: str, end: str, zone: str) -> None:
    with pytest.raises(InvalidPeriod):
        Period.parse(start, end, zone)


def test_a_year_of_366_days_is_a_period() -> None:
    assert len(Period.parse("2024-01-01", "2024-12-31", "UTC").days()) == 366


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Tokyo", "UTC"])
def test_the_first_and_last_days_a_period_may_name_have_instants_in_every_zone(zone: str) -> None:
    first = Period.parse("1970-01-01", "1970-01-01", zone)
    last = Period.parse("9998-12-31", "9998-12-31", zone)

    assert first.since < first.until
    assert last.since < last.until
