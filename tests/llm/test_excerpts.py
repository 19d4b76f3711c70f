"""The sentences of a long passage that answer a question (issue 23): cut at real sentence ends,
chosen by the question's words, readable alone, and always the passage's own words."""

from __future__ import annotations

import pytest

from parlour.assistant.support import Support
from parlour.llm.excerpts import EXCERPT_CHARS, WHOLE_CHARS, excerpt, split_sentences

CARDS = """\
Our Gold card costs 95 GBP a year, e.g. for frequent travellers. It waives the foreign \
exchange fee. Dr. J. Smith founded the bank in 1902 at No. 5 High St. in London. The \
interest rate on savings is 3.5 per cent (see the U.S. rates on p. 12 for comparison).
Fees for cash withdrawals abroad:
- 2 per cent of the amount, at least 1.50 GBP.
- Free with the Gold card.
To order a new card:
1. Open the app.
2. Tap Cards, then Order.
You can freeze a card in the app at any time. This stops every payment
until you unfreeze it. Lost cards should be reported at once by calling 0800 123 456, day or \
night, so that nobody else can use them. Replacement cards arrive in five working days, by \
post, to the address we hold for you.
"""


def sentences(text: str) -> list[str]:
    return [text[s.start : s.end] for s in split_sentences(text)]


def test_sentences_end_at_stops_not_at_abbreviations_initials_numbers_or_list_numbers() -> None:
    assert sentences(CARDS) == [
        "Our Gold card costs 95 GBP a year, e.g. for frequent travellers.",
        "It waives the foreign exchange fee.",
        "Dr. J. Smith founded the bank in 1902 at No. 5 High St. in London.",
        "The interest rate on savings is 3.5 per cent (see the U.S. rates on p. 12 for "
        "comparison).",
        "Fees for cash withdrawals abroad:",
        "- 2 per cent of the amount, at least 1.50 GBP.",
        "- Free with the Gold card.",
        "To order a new card:",
        "1. Open the app.",
        "2. Tap Cards, then Order.",
        "You can freeze a card in the app at any time.",
        "This stops every payment\nuntil you unfreeze it.",  # a line wrapped mid-sentence
        "Lost cards should be reported at once by calling 0800 123 456, day or night, so that "
        "nobody else can use them.",
        "Replacement cards arrive in five working days, by post, to the address we hold for you.",
    ]


def test_questions_exclamations_ellipses_and_quotes_end_sentences() -> None:
    text = 'Can I pay later? Yes! Ask us... "Any time." Then wait.'
    assert sentences(text) == ["Can I pay later?", "Yes!", "Ask us...", '"Any time."', "Then wait."]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "cost to take cash out abroad",
            "Fees for cash withdrawals abroad:\n- 2 per cent of the amount, at least 1.50 GBP.\n"
            "- Free with the Gold card.",
        ),
        (
            "How do I freeze my card?",
            "You can freeze a card in the app at any time. This stops every payment\n"
            "until you unfreeze it.",
        ),
        (
            "How long until a replacement arrives?",
            "Replacement cards arrive in five working days, by post, to the address we hold "
            "for you.",
        ),
        # A list item brings the line that introduces it.
        ("Where do I tap to order?", "To order a new card:\n2. Tap Cards, then Order."),
        # A sentence that refers back brings the one before it.
        (
            "Which fee is waived?",
            "Our Gold card costs 95 GBP a year, e.g. for frequent travellers. It waives the "
            "foreign exchange fee.",
        ),
    ],
)
def test_a_long_passage_answers_with_its_sentences_that_match_the_question(
    question: str, expected: str
) -> None:
    assert excerpt(question, CARDS) == expected


def test_an_excerpt_is_the_passages_own_words_so_its_support_is_whole() -> None:
    support = Support([CARDS])
    for question in ("abroad fees", "bank founder", "savings interest", "lost card", "zzz"):
        said = excerpt(question, CARDS)
        assert len(said) <= EXCERPT_CHARS
        assert all(line in CARDS for line in said.splitlines())
        assert support.measure(said)[1] == 1.0


def test_a_short_passage_is_whole_and_a_long_one_without_the_questions_words_its_start() -> None:
    short = "We are open Monday to Friday, 9:00 to 17:00. Closed on bank holidays."
    assert excerpt("When are you open?", short) == short
    assert len(CARDS) > WHOLE_CHARS
    start = excerpt("Do you have parking?", CARDS)
    assert CARDS.startswith(start)
    assert start.endswith(".")


def test_one_long_sentence_is_said_whole_rather_than_cut() -> None:
    sentence = "The lounge is open to " + ", ".join(f"member {i}" for i in range(90)) + "."
    passage = f"Welcome. {sentence} Thank you."
    assert excerpt("Who may use the lounge?", passage) == sentence


def test_a_question_matching_only_a_word_most_sentences_hold_gets_the_passages_start() -> None:
    """ "virus" in a passage about a virus says nothing about which sentence answers."""
    passage = " ".join(
        f"The virus was found in {place}, where it spread among the people of the city and the "
        "villages around it during the first months of the outbreak."
        for place in ("Wuhan", "Milan", "Madrid", "Seattle", "Tehran", "Daegu")
    )
    start = excerpt("How does the virus diffuse?", passage)
    assert passage.startswith(start)
    assert len(start) > EXCERPT_CHARS / 2
