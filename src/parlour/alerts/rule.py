"""The anomaly rule: a figure's count today jumps above its own baseline when it exceeds the
median of the previous 14 days by more than K spreads, and is at least a floor.

    spread    = max(1.4826 * MAD, √median, 1)
    threshold = median + K * spread
    alert     ⇔ today ≥ MIN_COUNT and today > threshold

Why (docs/alerts.md): the median and the MAD ignore the few extreme days a history of attacks
holds (an earlier spike does not raise the bar for the next one, as it would a mean and standard
deviation); 1.4826 * MAD estimates a standard deviation for normal noise; √median is the noise
of counts themselves (Poisson), so a flat history (MAD 0) does not alert on one more; the floor
keeps 0 → 2 quiet. Nothing is tuned per organisation, and 14 points are enough for a median.
Today's count is the day so far: it only grows, so a jump is seen as soon as it passes.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from parlour.alerts.models import Baseline

BASELINE_DAYS = 14
K = 4.0
MAD_TO_SD = 1.4826  # the MAD of normal noise times this is its standard deviation
MIN_COUNT = 10  # a day under this never alerts, whatever its baseline


def baseline(history: Sequence[int]) -> Baseline:
    """The baseline of these daily counts (the previous days, days without any as 0)."""
    if not history:
        return Baseline(days=0, median=0.0, mad=0.0, threshold=K)
    median = float(statistics.median(history))
    mad = float(statistics.median(abs(x - median) for x in history))
    spread = max(MAD_TO_SD * mad, math.sqrt(median), 1.0)
    return Baseline(days=len(history), median=median, mad=mad, threshold=median + K * spread)


def jumps(today: int, base: Baseline) -> bool:
    """Whether today's count is a jump above the baseline."""
    return today >= MIN_COUNT and today > base.threshold
