"""A report's period: two days, both included, in the organisation's time zone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from parlour.errors import InvalidInput
from parlour.web.periods import parse_day, utc_bounds


def test_a_period_runs_from_local_midnight_to_the_midnight_after_its_last_day() -> None:
    since, until = utc_bounds(date(2026, 3, 28), date(2026, 3, 29), "Europe/London")
    # The clocks go forward on the 29th: the period is 47 hours long.
    assert since == datetime(2026, 3, 28, 0, 0, tzinfo=UTC)
    assert until == datetime(2026, 3, 29, 23, 0, tzinfo=UTC)


def test_a_day_east_of_utc_starts_the_evening_before() -> None:
    since, until = utc_bounds(date(2026, 6, 1), date(2026, 6, 1), "Pacific/Auckland")
    assert (since, until) == (
        datetime(2026, 5, 31, 12, 0, tzinfo=UTC),
        datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize("value", ["2026-13-01", "2026-2-1", "yesterday", "2026-02-30", ""])
def test_a_day_not_written_yyyy_mm_dd_is_refused_naming_its_field(value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_day(value, "from")
    assert refused.value.details == {"field": "from"}


def test_a_period_that_ends_before_it_starts_or_spans_over_a_year_is_refused() -> None:
    with pytest.raises(InvalidInput):
        utc_bounds(date(2026, 6, 2), date(2026, 6, 1), "UTC")
    with pytest.raises(InvalidInput):
        utc_bounds(date(2025, 1, 1), date(2026, 1, 2), "UTC")  # 367 days
