"""An organisation's answer and offer thresholds come from its own FAQ: each entry's question
(and phrasing) asked against the other entries shows how close a wrong entry comes, and the
thresholds sit above that. Each knowledge version has its own."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parlour.knowledge.calibration import MIN_ENTRIES, calibrate
from parlour.knowledge.embeddings import shared_minilm
from parlour.knowledge.models import FaqEntry
from parlour.knowledge.retrieval import DenseIndex, split_answers
from parlour.services import Services
from tests.support import seed

# Distinct topics: a wrong entry never comes close.
DISTINCT = [
    ("How do I reset my password?", "Tap Forgot password and follow the link we e-mail you."),
    ("What are your opening hours?", "Monday to Friday, 9:00 to 17:00."),
    ("How do I block my card?", "In the app, Cards, Freeze card."),
    ("Are there fees abroad?", "Card payments abroad are free."),
    ("How do I close my account?", "In the app, Profile, Close account."),
    ("How do I update my address?", "Profile, Personal details, Address."),
    ("Can I pay with my phone?", "Add your card to your phone's wallet."),
    ("Where can I find my statements?", "Accounts, Statements, as PDF files."),
    ("How do I return an item?", "Within 30 days, with the free label."),
    ("How much does delivery cost?", "Free over 40 pounds, else 3.95."),
    ("Do you deliver abroad?", "To the EU, the United States and Canada."),
    ("Which payment methods do you accept?", "Cards, PayPal and Klarna."),
]
# Close intents: many entries about cards, each a near neighbour of the others.
CLOSE = [
    ("My card has not arrived yet", "Cards arrive within five working days."),
    ("How do I activate my new card?", "Open the app and tap Activate card."),
    ("My card was declined in a shop", "Check your balance and the card's limits."),
    ("My card payment was charged twice", "Report the payment; we refund duplicates."),
    ("How do I change my card's PIN?", "At any cash machine, under PIN services."),
    ("My card is about to expire", "We send a new card a month before expiry."),
    ("I lost my card", "Freeze it in the app and order a new one."),
    ("Can I get a second card?", "Order one in the app under Cards."),
    ("My contactless card payment failed", "Insert the card and use the PIN once."),
    ("What is the limit on my card?", "Card payments up to 5,000 pounds a day."),
    ("My card is stuck in the cash machine", "Call us to cancel it; we send a new one."),
    ("Where can I use my card abroad?", "Everywhere the card network is accepted."),
]


def dense(
    faq: list[tuple[str, str]], phrasings: dict[str, tuple[str, ...]] | None = None
) -> DenseIndex:
    now = datetime.now(UTC)
    entries = [
        FaqEntry("t", f"e{i}", q, a, now, phrasings=(phrasings or {}).get(q, ()))
        for i, (q, a) in enumerate(faq)
    ]
    model = shared_minilm()
    matched, answers = split_answers(entries, [model.embed(list(e.vector_texts)) for e in entries])
    return DenseIndex(entries, matched, answers=answers)


def test_an_faq_of_close_intents_needs_more_confidence_to_answer_than_one_of_distinct_topics() -> (
    None
):
    distinct = calibrate(dense(DISTINCT))
    close = calibrate(dense(CLOSE))
    assert distinct is not None
    assert close is not None
    assert close.answer > distinct.answer + 0.1
    for calibration in (distinct, close):
        assert 0 < calibration.offer < calibration.answer <= 1
        assert calibration.asked == 12


def test_a_question_asked_word_for_word_is_answered_and_another_organisations_topic_is_not() -> (
    None
):
    index = dense(DISTINCT)
    calibration = calibrate(index)
    assert calibration is not None
    model = shared_minilm()
    [asked] = index.search(model.embed(["How do I block my card?"])[0], 1)
    assert asked.confidence >= calibration.answer
    [unrelated] = index.search(model.embed(["Do you sell car insurance?"])[0], 1)
    assert unrelated.confidence < calibration.answer


def test_entries_with_the_same_answer_are_not_each_others_wrong_answers() -> None:
    once = calibrate(dense(DISTINCT))
    # The same FAQ with every question written twice, as two entries sharing an answer.
    twice = calibrate(dense([*DISTINCT, *((f"{q} Please.", a) for q, a in DISTINCT)]))
    assert once is not None
    assert twice is not None
    assert twice.answer == pytest.approx(once.answer, abs=0.03)


def test_an_entrys_phrasings_are_asked_too() -> None:
    phrased = calibrate(dense(DISTINCT, {"How do I block my card?": ("I lost my wallet",)}))
    assert phrased is not None
    assert phrased.asked == len(DISTINCT) + 1


def test_too_small_an_faq_is_not_calibrated() -> None:
    assert calibrate(dense(DISTINCT[: MIN_ENTRIES - 1])) is None


async def test_each_knowledge_version_is_calibrated_on_its_own_entries(backend: Services) -> None:
    org = await seed.organisation(backend, faq=_csv(DISTINCT))
    other = await seed.organisation(backend, origin="https://b.example", faq=_csv(CLOSE))
    first = (await backend.knowledge.retrieve(org.tenant_id, "opening hours")).calibration
    assert first is not None
    await backend.knowledge.import_faq_csv(org.tenant_id, _csv(CLOSE), actor=seed.ACTOR)
    second = (await backend.knowledge.retrieve(org.tenant_id, "opening hours")).calibration
    assert second is not None
    assert second.answer > first.answer
    # Another organisation's knowledge never moves this one's thresholds, nor the reverse.
    theirs = (await backend.knowledge.retrieve(other.tenant_id, "card")).calibration
    assert theirs == second
    await backend.knowledge.publish(org.tenant_id, 1, actor=seed.ACTOR)  # a rollback
    assert (await backend.knowledge.retrieve(org.tenant_id, "opening hours")).calibration == first
    assert (await backend.knowledge.retrieve(other.tenant_id, "card")).calibration == theirs


async def test_a_small_faq_keeps_the_platforms_thresholds(backend: Services) -> None:
    org = await seed.organisation(backend)  # three entries
    assert (await backend.knowledge.retrieve(org.tenant_id, "opening hours")).calibration is None


def _csv(faq: list[tuple[str, str]]) -> bytes:
    rows = "".join(f'"{q}","{a}"\n' for q, a in faq)
    return f"question,answer\n{rows}".encode()
