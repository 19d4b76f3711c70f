"""Time-ordered row ids."""

from __future__ import annotations

import itertools
import time
import uuid

from parlour.storage.ids import time_ordered_id


def test_an_id_is_a_uuid_version_7_that_names_the_millisecond_it_was_made() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid.UUID(time_ordered_id())
    after = time.time_ns() // 1_000_000
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert before <= _millisecond(str(made)) <= after


def test_ids_made_in_a_later_millisecond_sort_after_and_none_repeats() -> None:
    ids: list[str] = []
    while len({_millisecond(i) for i in ids}) < 3:
        ids.append(time_ordered_id())
    assert len(set(ids)) == len(ids)
    for earlier, later in itertools.pairwise(ids):
        assert _millisecond(earlier) <= _millisecond(later)
        if _millisecond(earlier) < _millisecond(later):
            assert earlier < later  # as text too, as an index compares them


def _millisecond(made: str) -> int:
    return uuid.UUID(made).int >> 80
