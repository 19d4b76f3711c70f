"""What a turn does with what retrieval found: answer when sure, offer a few entries as
choices when unsure between them, abstain when nothing comes close."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parlour.assistant.bands import Band, Thresholds, decide
from parlour.assistant.service import TurnLimits
from parlour.knowledge.models import Calibration, FaqEntry, Hit

BANDS = Thresholds(answer=0.7, offer=0.4, choices=2)


def hit(question: str, confidence: float) -> Hit:
    entry = FaqEntry("t", question, question, "an answer", datetime.now(UTC))
    return Hit(entry, score=confidence, confidence=confidence)


def test_a_confident_hit_is_answered_from_every_confident_passage() -> None:
    hits = [hit("a", 0.9), hit("b", 0.75), hit("c", 0.5)]
    decision = decide(hits, BANDS)
    assert decision.band is Band.ANSWER
    assert [h.entry.question for h in decision.hits] == ["a", "b"]


def test_unsure_hits_are_offered_as_at_most_the_allowed_number_of_choices() -> None:
    decision = decide([hit("a", 0.6), hit("b", 0.5), hit("c", 0.45), hit("d", 0.1)], BANDS)
    assert decision.band is Band.OFFER
    assert [h.entry.question for h in decision.hits] == ["a", "b"]


def test_two_passages_under_one_heading_are_offered_once() -> None:
    decision = decide([hit("Fees", 0.6), hit("Fees", 0.55), hit("Cards", 0.5)], BANDS)
    assert [h.entry.question for h in decision.hits] == ["Fees", "Cards"]


def test_nothing_near_enough_abstains() -> None:
    assert decide([hit("a", 0.39)], BANDS).band is Band.ABSTAIN
    assert decide([], BANDS).band is Band.ABSTAIN


def test_without_a_middle_band_an_unsure_hit_abstains() -> None:
    assert decide([hit("a", 0.59)], Thresholds(answer=0.6, offer=0.6)).band is Band.ABSTAIN


@pytest.mark.parametrize(
    "thresholds", [{"answer": 0.5, "offer": 0.6}, {"offer": -0.1}, {"choices": 0}]
)
def test_thresholds_out_of_order_are_refused(thresholds: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"thresholds need|at least one"):
        Thresholds(**thresholds)  # type: ignore[arg-type]


def test_a_confident_answer_brings_the_passages_near_it_for_a_model_to_combine() -> None:
    hits = [hit("a", 0.75), hit("b", 0.45), hit("c", 0.3)]
    with_companions = Thresholds(answer=0.7, offer=0.4, choices=2, companion=0.4)
    assert [h.entry.question for h in decide(hits, with_companions).hits] == ["a", "b"]
    assert [h.entry.question for h in decide(hits, BANDS).hits] == ["a"]
    # Not below the bar to answer when nothing is confident: that is the middle band's.
    assert decide([hit("b", 0.45)], with_companions).band is Band.OFFER


def test_an_organisations_calibrated_thresholds_replace_the_platforms() -> None:
    limits = TurnLimits(min_confidence=0.6, min_offer_confidence=0.6, choices=3)
    calibration = Calibration(answer=0.81, offer=0.52, asked=300)
    assert limits.thresholds_for(calibration) == Thresholds(
        answer=0.81, offer=0.52, choices=3, companion=0.52
    )
    assert limits.thresholds_for(None) == Thresholds(
        answer=0.6, offer=0.6, choices=3, companion=limits.min_companion_confidence
    )


def test_with_calibration_switched_off_every_organisation_has_the_platforms_thresholds() -> None:
    limits = TurnLimits(min_confidence=0.7, min_offer_confidence=0.5, calibrated=False)
    calibration = Calibration(answer=0.81, offer=0.52, asked=300)
    assert limits.thresholds_for(calibration) == Thresholds(
        answer=0.7, offer=0.5, companion=limits.min_companion_confidence
    )
