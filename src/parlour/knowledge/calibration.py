"""An organisation's confidence thresholds, calibrated on its own FAQ by leave-one-out.

Each entry's question, and each of its phrasings, is asked against the other entries (those
with another answer): the best score it gets is what a question near this FAQ, but answered by
none of the others, scores. How high those go depends on the FAQ: entries on distinct topics
leave wide gaps (a bank's 30 questions: the 95th percentile near 0.55), many entries on close
intents leave narrow ones (HINT3's bots: near 0.81). So the thresholds follow the FAQ rather
than one number for every organisation:

- answer: the 95th percentile of those best scores; a question scoring above it is closer to an
  entry than nearly any other question of the FAQ is to a wrong one;
- offer: their median, less 0.05; between the two, the entries found are offered as choices.

The quantiles were chosen on sets written for tuning, banking77's training split and one half
of each HINT3 bot's test queries (docs/benchmarks.md, issue 23), never on the sets reported.
Computed from a knowledge version's entries and vectors whenever its index is built, so each
version has its own; with too few entries to say anything (MIN_ENTRIES) the
platform's thresholds apply.
"""

from __future__ import annotations

import numpy as np

from parlour.knowledge.models import Calibration
from parlour.knowledge.retrieval import DenseIndex

ANSWER_QUANTILE = 0.95
OFFER_QUANTILE = 0.5
OFFER_BELOW = 0.05
# Guards, not tuned: no tuning set's thresholds came near them.
ANSWER_FLOOR = 0.5
OFFER_FLOOR = 0.3
# Too few to say anything: fewer entries with distinct answers.
MIN_ENTRIES = 10
# At most this many entries are asked (evenly spread): enough for the quantiles, and a 100,000
# entry index calibrates in a fraction of a second.
SAMPLE = 400
_CHUNK = 100


def calibrate(index: DenseIndex) -> Calibration | None:
    """The index's thresholds, or None when it has too few FAQ entries to calibrate on."""
    codes: dict[str, int] = {}
    answer_of = np.array(
        [codes.setdefault(entry.answer, len(codes)) for entry in index.entries], dtype=np.int64
    )
    vectors, owner = index.matched
    faq = np.array([index.entries[i].is_faq for i in owner], dtype=bool)
    asked = np.flatnonzero(faq)
    if len(set(answer_of[owner[asked]].tolist())) < MIN_ENTRIES:
        return None
    if len(asked) > SAMPLE:
        asked = asked[np.linspace(0, len(asked) - 1, SAMPLE).round().astype(np.int64)]
    best: list[float] = []
    for start in range(0, len(asked), _CHUNK):
        rows = asked[start : start + _CHUNK]
        scores = index.scores(vectors[rows])
        # The text's own entry, and any entry with the same answer, are not "the others".
        mine = answer_of[owner[rows]]
        scores = np.where(answer_of[None, :] == mine[:, None], -np.inf, scores)
        best.extend(float(s) for s in scores.max(axis=1))
    answer = max(ANSWER_FLOOR, float(np.quantile(best, ANSWER_QUANTILE)))
    offer = max(OFFER_FLOOR, float(np.quantile(best, OFFER_QUANTILE)) - OFFER_BELOW)
    return Calibration(answer=min(answer, 1.0), offer=min(offer, answer, 1.0), asked=len(asked))
