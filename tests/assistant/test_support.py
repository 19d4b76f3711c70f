"""What counts as support for an answer: the words of the turn's own material, compared
loosely, never the function words every answer has."""

from __future__ import annotations

from parlour.assistant.support import Support, content_words

PASSAGE = "We are open Monday to Friday, 9:00 to 17:00. Branches close on public holidays."


def test_an_answer_in_the_passages_words_is_wholly_supported() -> None:
    words, share = Support([PASSAGE]).measure("Our branches are open from Monday to Friday.")
    assert words == 4  # branches, open, monday, friday
    assert share == 1.0


def test_case_accents_and_endings_do_not_matter() -> None:
    support = Support(["The café closed its branch."])
    assert support.measure("CAFE branches closing")[1] == 1.0


def test_words_the_material_lacks_count_against_the_answer() -> None:
    words, share = Support([PASSAGE]).measure("Access Granted")
    assert (words, share) == (2, 0.0)


def test_an_answer_of_function_words_alone_claims_nothing() -> None:
    assert Support([]).measure("Yes, you can. Thank you!") == (0, 1.0)


def test_the_material_may_grow_during_a_turn() -> None:
    support = Support([PASSAGE])
    assert support.measure("Your balance is 12 pounds")[1] < 1.0
    support.add("balance: 12 pounds")
    assert support.measure("Your balance is 12 pounds")[1] == 1.0


def test_numbers_and_single_letters_are_not_words() -> None:
    assert content_words("k1 9:00 a 17 GBP") == ["gbp"]
