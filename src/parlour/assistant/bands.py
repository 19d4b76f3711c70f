"""How sure the assistant is of what retrieval found, and so what a turn does with it.

Three bands of the best hit's confidence: at or above `answer`, the turn answers from the
confident passages; between `offer` and `answer`, it is unsure between a few entries and offers
them as choices ("Did you mean …?") instead of refusing; below `offer`, it abstains and offers a
person. With `offer` equal to `answer` there is no middle band. The one home of this rule: the
turn and the dashboard's "try a question" console both ask it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from parlour.knowledge.models import Hit


class Band(StrEnum):
    ANSWER = "answer"
    OFFER = "offer"  # offer the entries as choices
    ABSTAIN = "abstain"


@dataclass(frozen=True, slots=True)
class Thresholds:
    answer: float = 0.6
    offer: float = 0.6  # equal to `answer`: no middle band
    choices: int = 3  # at most this many entries offered

    def __post_init__(self) -> None:
        if not 0 <= self.offer <= self.answer:  # above 1: never answer
            raise ValueError("thresholds need 0 <= offer <= answer")
        if self.choices < 1:
            raise ValueError("offer at least one choice")


@dataclass(frozen=True, slots=True)
class Decision:
    """The band, and the hits it acts on: the confident passages to answer from, the entries
    to offer (best first, one per question), or none."""

    band: Band
    hits: tuple[Hit, ...]


def decide(hits: Sequence[Hit], thresholds: Thresholds) -> Decision:
    """What to do with `hits` (best first): answer, offer choices, or abstain."""
    confident = tuple(hit for hit in hits if hit.confidence >= thresholds.answer)
    if confident:
        return Decision(Band.ANSWER, confident)
    offered: dict[str, Hit] = {}
    for hit in hits:
        if hit.confidence >= thresholds.offer and hit.entry.question not in offered:
            offered[hit.entry.question] = hit
    if offered:
        return Decision(Band.OFFER, tuple(offered.values())[: thresholds.choices])
    return Decision(Band.ABSTAIN, ())
