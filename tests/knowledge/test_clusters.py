"""Grouping questions by meaning: densest first, every member close to its group's centre, the
same groups whatever order the questions come in."""

from __future__ import annotations

import numpy as np

from parlour.knowledge.clusters import DENSE_THRESHOLD, group, lexical_vectors
from parlour.knowledge.embeddings import shared_minilm

QUESTIONS = [
    "When will my new card arrive?",
    "My card has not been delivered yet",
    "How long does card delivery take?",
    "Can I get a refund for my order?",
    "How do I get my money back?",
    "Is the branch open on Sundays?",
]


def test_every_member_of_a_group_is_close_to_its_centre() -> None:
    vectors = shared_minilm().embed(QUESTIONS)
    groups = group(vectors, DENSE_THRESHOLD)
    assert sorted(i for g in groups for i in g) == list(range(len(QUESTIONS)))
    for centre, *members in groups:
        for member in members:
            assert float(vectors[centre] @ vectors[member]) >= DENSE_THRESHOLD
    assert sorted(groups[0]) == [0, 1, 2]  # the card's delivery, asked three ways, leads


def test_the_groups_do_not_depend_on_the_order_the_questions_came_in() -> None:
    vectors = shared_minilm().embed(QUESTIONS)
    order = [5, 3, 1, 4, 0, 2]
    shuffled = group(vectors[order], DENSE_THRESHOLD)
    as_given = group(vectors, DENSE_THRESHOLD)
    assert sorted(sorted(order[i] for i in g) for g in shuffled) == sorted(
        sorted(g) for g in as_given
    )


def test_nothing_to_group_gives_no_groups() -> None:
    assert group(np.zeros((0, 384), dtype=np.float32), DENSE_THRESHOLD) == []


def test_a_question_sharing_no_word_with_another_stands_alone() -> None:
    vectors = lexical_vectors(["Where is my parcel?", "Parcel lost", "Sunday opening"])
    assert not vectors[2].any()
    assert sorted(sorted(g) for g in group(vectors, 0.3)) == [[0, 1], [2]]
