"""The anomaly rule: a day's count against the median and MAD of the 14 before it."""

from __future__ import annotations

import pytest

from parlour.alerts.rule import BASELINE_DAYS, MIN_COUNT, baseline, jumps

FLAT = [20] * BASELINE_DAYS
NOISY = [20, 35, 12, 28, 40, 18, 25, 30, 22, 15, 33, 27, 19, 24]
QUIET = [0, 1, 0, 0, 2, 0, 1, 0, 0, 0, 1, 0, 0, 1]


@pytest.mark.parametrize("history", [FLAT, NOISY, QUIET])
def test_no_day_of_an_ordinary_series_is_a_jump(history: list[int]) -> None:
    """Every day of the series, and its highest again, are ordinary against the series."""
    base = baseline(history)
    assert not any(jumps(day, base) for day in history)
    assert not jumps(max(history), base)


def test_a_flat_series_tolerates_the_noise_of_counts_themselves() -> None:
    """MAD is 0 on a flat series: one more, or a few more, is not a jump."""
    base = baseline(FLAT)
    assert base.mad == 0
    assert not jumps(21, base)
    assert not jumps(30, base)
    assert jumps(60, base)


def test_a_real_jump_above_a_noisy_baseline_is_one() -> None:
    base = baseline(NOISY)
    assert base.median == 24.5
    assert not jumps(55, base)
    assert jumps(120, base)


def test_earlier_spikes_in_the_history_do_not_raise_the_bar() -> None:
    """Two attack days among the fourteen: the median and MAD barely move, so a third spike
    still stands out (a mean and standard deviation would have hidden it)."""
    attacked = [*NOISY[:12], 900, 1200]
    assert baseline(attacked).threshold < 80
    assert jumps(600, baseline(attacked))


def test_tiny_numbers_under_the_floor_never_alert() -> None:
    base = baseline([0] * BASELINE_DAYS)
    assert not jumps(2, base)
    assert not jumps(MIN_COUNT - 1, base)
    assert jumps(MIN_COUNT, base)


def test_without_any_history_only_the_floor_counts() -> None:
    assert not jumps(MIN_COUNT - 1, baseline([]))
    assert jumps(MIN_COUNT, baseline([]))
