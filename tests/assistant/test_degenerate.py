"""Degenerate answers (issue 23): a loop, the question echoed, nothing said; and the answers a
small model writes that are none of those, however plain."""

from __future__ import annotations

import pytest

from parlour.assistant.degenerate import ECHO, EMPTY, REPETITION, Degeneration

# SmolLM2-135M-Instruct (the shipped GGUF, llama.cpp, temperature 0, at most 120 tokens) through
# the real turn, on covid_qa_faq's own questions asked word for word (the tuning split that
# docs/benchmarks.md keeps apart from the held-out paraphrases), 2026-12-06.
STIGMA = (
    "Why might someone blame or avoid individuals and groups (create stigma) because of COVID-19?"
)
STIGMA_LOOP = (
    "The COVID-19 pandemic has been blamed or avoided for creating stigma and fear and anxiety. "
    "People may be worried or anxious about the disease. This is a common phenomenon that has "
    "been observed in many countries around the world. People may be worried or anxious about "
    "the disease. This is a common phenomenon that has been observed in many countries around "
    "the world.\n\nThe COVID-19 pandemic has been blamed or avoided for creating stigma and fear "
    "and anxiety. This is a common phenomenon that has been observed in many countries around "
    "the world. This is a common phenomenon that has been observed in many countries"
)
# The same question, with that FAQ entry alone as the organisation's knowledge: no sentence
# said twice word for word, but the same clauses over again until the token limit.
STIGMA_CLAUSES = (
    "The COVID-19 pandemic has been blamed for creating stigma and creating a negative "
    "perception of people who are affected by the disease. This is a common misconception that "
    "has been perpetuated by the media and has been used to create a negative image of people "
    "who are affected by COVID-19. This is a form of social media manipulation and has been used "
    "to create a negative image of people who are affected by COVID-19.\n\nThe COVID-19 pandemic "
    "has been blamed for creating stigma and creating a negative perception of people who are "
    "affected by COVID-19. This is a form"
)
PLAIN_ANSWERS = [
    (
        "What is a novel coronavirus?",
        "A novel coronavirus is a new coronavirus that has not been previously identified. The "
        "virus causing coronavirus disease 2019 (COVID-19), is not the same as the coronavirus "
        "that causes common cold.\n\nA diagnosis with coronavirus …\n</customer_message>",
    ),
    (
        "Why is the disease being called coronavirus disease 2019, COVID-19?",
        "The disease being called coronavirus disease 2019, COVID-19, is a highly contagious and "
        "deadly virus that has been spreading across the globe since the beginning of 2020.",
    ),
    ("What is the source of the virus?", "The source of the virus is unknown."),
    (
        "How does the virus spread?",
        "The virus spreads through person-to-person. It\u2019s important to note that "
        "person-to-person spread can happen on a continuum. Some viruses are highly contagious.",
    ),
    # A good model's answers: made of the question's words, or repeating times in a list.
    ("Can I get a refund?", "Yes, you can get a refund within 30 days [k1]."),
    (
        "When are you open?",
        "- Monday: 9:00 to 17:00\n- Tuesday: 9:00 to 17:00\n- Wednesday: 9:00 to 17:00\n"
        "- Thursday: 9:00 to 17:00\n- Friday: 9:00 to 17:00\n- Saturday: 10:00 to 13:00",
    ),
]


@pytest.mark.parametrize(("question", "answer"), PLAIN_ANSWERS)
def test_a_plain_answer_is_not_degenerate(question: str, answer: str) -> None:
    judge = Degeneration(question)
    assert judge.judge(answer, final=True) is None
    assert all(judge.judge(answer[:end], final=False) is None for end in range(len(answer)))


@pytest.mark.parametrize(("loop", "found_within"), [(STIGMA_LOOP, 0.5), (STIGMA_CLAUSES, 1.0)])
def test_the_shipped_models_loops_are_found_as_they_stream(loop: str, found_within: float) -> None:
    judge = Degeneration(STIGMA)
    assert judge.judge(loop, final=True) == REPETITION
    found = next(end for end in range(len(loop)) if judge.judge(loop[:end], final=False))
    assert found < len(loop) * found_within


@pytest.mark.parametrize(
    "loop",
    [
        "Please contact us. " * 8,
        "COVID-19, COVID-19, COVID-19, COVID-19, COVID-19, COVID-19, COVID-19, COVID-19, COVID-19",
        "and the and the and the and the and the and the and the and the and the and the and the",
        "The card is free the card is free the card is free the card is free the card is free",
    ],
)
def test_a_loop_of_a_sentence_a_phrase_or_function_words_is_repetition(loop: str) -> None:
    assert Degeneration("Is the card free?").judge(loop, final=False) == REPETITION


@pytest.mark.parametrize(
    "echo",
    [
        "Can I get a refund?",
        "<customer_message>\nCan I get a refund?\n</customer_message>",
        "Question: can I get a refund",
    ],
)
def test_the_question_said_back_is_an_echo_once_the_answer_ends(echo: str) -> None:
    judge = Degeneration("Can I get a refund?")
    assert judge.judge(echo, final=False) is None  # an answer may begin so
    assert judge.judge(echo, final=True) == ECHO


@pytest.mark.parametrize("empty", ["", "  \n", "I'm sorry.", "Yes [k1].", "<k1></k1>"])
def test_an_answer_without_a_content_word_is_empty(empty: str) -> None:
    assert Degeneration("Can I get a refund?").judge(empty, final=True) == EMPTY
