"""The one rule for what clients name: which characters it refuses, and how it says so."""

from __future__ import annotations

import sys
import unicodedata

import pytest

from parlour.errors import InvalidIdentifier
from parlour.identifiers import check_identifier, first_refused

BIDI_CONTROLS = [
    *(chr(c) for c in range(0x202A, 0x202F)),
    *(chr(c) for c in range(0x2066, 0x206A)),
    "\u200e",
    "\u200f",
    "\u061c",
]
INVISIBLE = ["\u200b", "\u2060", "\ufeff", "\u00ad", "\U000e0041"]


def test_t90_every_control_bidi_and_invisible_format_character_is_refused() -> None:
    """T-90: every Cc (NUL, BEL, ESC, CR, LF, DEL, the C1 set), every bidi control, every
    other format character, the line and paragraph separators, and lone surrogates (the two
    joiners too, unless they join letters: the last test)."""
    refused = [
        chr(c)
        for c in range(sys.maxunicode + 1)
        if unicodedata.category(chr(c)) in ("Cc", "Cf", "Cs", "Zl", "Zp")
    ]
    assert {"\x00", "\x07", "\x1b", "\n", "\r", "\x7f", "\x9b", "\u2028", "\u2029"} <= set(refused)
    assert set(BIDI_CONTROLS + INVISIBLE) <= set(refused)
    for char in refused:
        assert first_refused(f"ab {char}cd") == 3, f"U+{ord(char):04X}"


@pytest.mark.parametrize(
    ("value", "code_point", "position"),
    [
        ("report\x1b]0;pwned\x07.md", "U+001B", 7),
        ("customer-1\nadmin", "U+000A", 11),
        ("customer\x00", "U+0000", 9),
        ("invoice\u202efdp.exe", "U+202E", 8),
        ("\u200badmin", "U+200B", 1),
    ],
)
def test_t90_the_refusal_names_the_character_by_code_point_and_never_echoes_it(
    value: str, code_point: str, position: int
) -> None:
    """T-90: the error says which character and where, as text that cannot do harm itself."""
    with pytest.raises(InvalidIdentifier) as refused:
        check_identifier(value, "a source name")
    error = refused.value
    assert error.code == "invalid_identifier"
    assert error.details == {"character": code_point, "position": position}
    assert error.message.startswith("a source name may not contain")
    assert first_refused(error.message) is None


@pytest.mark.parametrize(
    "value",
    [
        "Zürcher Kantonalbank",
        "भारतीय स्टेट बैंक",
        "三菱UFJ銀行",
        "O'Brien & Sons",
        # Persian ("I want") needs the zero-width non-joiner between letters
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",
        "क्\u200dष",  # and Devanagari the joiner
        "👨\u200d👩\u200d👧",  # an emoji family is three emoji and two joiners
        "faq (2024).csv",
        "user@example.com",
        "名前\u3000太郎",  # the ideographic space is a space, not a control
    ],
)
def test_t90_names_in_any_script_pass(value: str) -> None:
    """T-90: the rule refuses controls, not languages."""
    assert check_identifier(value, "a name") == value


@pytest.mark.parametrize("value", ["\u200dadmin", "admin\u200c", "ad\u200d\u200dmin", "a \u200db"])
def test_t90_a_joiner_that_joins_nothing_visible_is_refused(value: str) -> None:
    """T-90: a joiner at either end, beside a space or another joiner only pads a name with
    something invisible."""
    assert first_refused(value) is not None
