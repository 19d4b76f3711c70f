"""Finding sensitive values: numbers count only when their check digits hold, and look-alikes
(dates, order numbers, addresses' digits in a date) are left alone."""

from __future__ import annotations

import pytest

from parlour import sensitive


def kinds(text: str) -> list[tuple[str, str]]:
    return [(span.kind, span.value) for span in sensitive.find(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 ok", [("card", "4111 1111 1111 1111")]),
        ("maestro 630427373398.", [("card", "630427373398")]),
        ("aadhaar 2345 6789 0124", [("aadhaar", "2345 6789 0124")]),
        ("PAN ABCPE1234F filed", [("pan", "ABCPE1234F")]),
        ("branch HDFC0001234 code", [("ifsc", "HDFC0001234")]),
        ("iban GB82 WEST 1234 5698 7654 32", [("iban", "GB82 WEST 1234 5698 7654 32")]),
        ("mail jo.smith+x@example.co.uk today", [("email", "jo.smith+x@example.co.uk")]),
        ("call +44 20 7946 0958 now", [("phone", "+44 20 7946 0958")]),
        ("call (555) 010-4477 now", [("phone", "(555) 010-4477")]),
        ("ssn 123-45-6789", [("ssn", "123-45-6789")]),
        ("ni QQ 12 34 56 C", []),  # QQ is never issued
        ("ni AB 12 34 56 C", [("ni_number", "AB 12 34 56 C")]),
        ("key sk-abcdefghijklmnopqrstuvwx1234", [("secret", "sk-abcdefghijklmnopqrstuvwx1234")]),
    ],
)
def test_each_kind_is_found_with_its_value(text: str, expected: list[tuple[str, str]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("card 4111 1111 1111 1112", "card"),
        ("aadhaar 2345 6789 0123", "aadhaar"),
        ("iban GB82 WEST 1234 5698 7654 33", "iban"),
    ],
)
def test_a_number_whose_check_digits_fail_is_not_that_kind(text: str, kind: str) -> None:
    assert kind not in [span.kind for span in sensitive.find(text)]


@pytest.mark.parametrize(
    "text",
    [
        "order 12345 shipped on 2024-05-12",
        "we met on 12.05.2024 10 o'clock",
        "server 10.20.30.40",
        "amount 1,250.00 due",
    ],
)
def test_dates_addresses_and_amounts_are_not_reported(text: str) -> None:
    assert kinds(text) == []


def test_a_card_number_is_not_also_a_phone_number() -> None:
    assert kinds("4111-1111-1111-1111") == [("card", "4111-1111-1111-1111")]


def test_only_the_kinds_asked_for_are_looked_for() -> None:
    text = "mail a@example.com, card 4111 1111 1111 1111"
    assert [s.kind for s in sensitive.find(text, ["card"])] == ["card"]


def test_each_value_found_is_masked_by_its_kind_and_the_rest_is_kept() -> None:
    text = (
        "My card 4111 1111 1111 1111 was charged twice, mail me at jo@example.com"
        " or call +44 20 7946 0958; my key is sk-abcdefghijklmnopqrstuvwx"
    )
    assert sensitive.mask(text) == (
        "My card [card] was charged twice, mail me at [email] or call [phone]; my key is [secret]"
    )
    assert sensitive.mask("Where is my parcel?") == "Where is my parcel?"
    assert sensitive.mask("card 4111111111111111", prefix="redacted ") == "card [redacted card]"
