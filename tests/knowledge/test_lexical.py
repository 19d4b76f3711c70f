"""Lexical retrieval ranks the entry that answers, and is unsure about what no entry covers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parlour.knowledge.lexical import LexicalIndex, terms
from parlour.knowledge.models import FaqEntry

ENTRIES = [
    ("How do I reset my password?", "Tap Forgot password on the sign-in screen."),
    ("How do I block my card?", "Go to Cards and tap Freeze card."),
    ("What are your opening hours?", "Monday to Friday, 9:00 to 17:00."),
    ("How long does a transfer take?", "Transfers to other banks arrive within two hours."),
]


@pytest.fixture
def index() -> LexicalIndex:
    now = datetime.now(UTC)
    return LexicalIndex([FaqEntry("t", f"e{i}", q, a, now) for i, (q, a) in enumerate(ENTRIES)])


@pytest.mark.parametrize(
    ("query", "entry_id"),
    [
        ("I forgot my password, how to reset it?", "e0"),
        ("my cards were stolen, block them", "e1"),
        ("when are you open? opening hours", "e2"),
        ("how long do transfers take", "e3"),
    ],
)
def test_the_entry_that_answers_ranks_first_with_high_confidence(
    index: LexicalIndex, query: str, entry_id: str
) -> None:
    best = index.search(query)[0]
    assert best.entry.entry_id == entry_id
    assert best.confidence >= 0.6


@pytest.mark.parametrize(
    "query", ["Do you sell car insurance?", "what's the weather tomorrow", "how do I", "???"]
)
def test_questions_no_entry_covers_get_no_confident_hit(index: LexicalIndex, query: str) -> None:
    hits = index.search(query)
    assert not hits or hits[0].confidence < 0.6


def test_terms_fold_case_plurals_and_stopwords() -> None:
    assert terms("How do I block my Cards?") == terms("block card")
