"""Finding sensitive data in text: the one set of detectors behind screening uploaded knowledge
(T-65), redacting answers before they leave (T-71), masking logs (T-105) and the unanswered
questions kept for reports (T-103).

Numbers with check digits are only reported when the check holds (cards: Luhn, IBAN: mod-97,
Aadhaar: Verhoeff), which keeps order numbers and amounts out. Where two detectors claim the same
characters, the earlier kind in DETECTORS wins: a card number is not also a phone number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Span:
    kind: str
    start: int
    end: int
    value: str


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, digit in enumerate(reversed(digits)):
        value = int(digit) * (2 if position % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0 and len(set(digits)) > 1


def _iban_valid(iban: str) -> bool:
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1


# Verhoeff's dihedral-group tables, as published; Aadhaar numbers end in this check digit.
_VERHOEFF_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_VERHOEFF_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)


def _verhoeff_valid(digits: str) -> bool:
    check = 0
    for position, digit in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[position % 8][int(digit)]]
    return check == 0


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


# A date, and perhaps the hour after it: "2024-05-12", "12.05.24 10".
_DATE = re.compile(
    r"(?:\d{4}[-./](?P<m1>\d{1,2})[-./](?P<d1>\d{1,2})"
    r"|(?P<d2>\d{1,2})[-./](?P<m2>\d{1,2})[-./](?:\d{4}|\d{2}))(?: \d{1,2})?"
)
_IP_ADDRESS = re.compile(r"\d{1,3}(\.\d{1,3}){3}")


def _is_date(text: str) -> bool:
    match = _DATE.fullmatch(text)
    if match is None:
        return False
    first, second = (
        (int(match["m1"]), int(match["d1"]))
        if match["m1"]
        else (
            int(match["d2"]),
            int(match["m2"]),
        )
    )
    # Either order of day and month.
    return min(first, second) <= 12 and max(first, second) <= 31


def _phone_like(value: str) -> bool:
    number = re.split(r"\s?(?:x|ext)", value)[0]
    digits = _digits(number)
    if number.isdigit():  # an unbroken run of digits is a phone number only at full length
        return 10 <= len(digits) <= 12
    if _is_date(number) or _IP_ADDRESS.fullmatch(number):
        return False
    return 7 <= len(digits) <= 15


@dataclass(frozen=True, slots=True)
class _Detector:
    kind: str
    pattern: re.Pattern[str]
    check: Callable[[str], bool] = lambda _value: True


DETECTORS: tuple[_Detector, ...] = (
    _Detector(
        "secret",
        re.compile(
            r"parlour_sk_[0-9a-f]{16}_[A-Za-z0-9_-]{20,}"
            r"|\bsk-[A-Za-z0-9_-]{20,}"
            r"|\bAKIA[0-9A-Z]{16}\b"
            r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
            r"|\bgh[pousr]_[A-Za-z0-9]{30,}"
            r"|\bxox[abpr]-[A-Za-z0-9-]{10,}"
            r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"
            r"|\b[Bb]earer\s+[A-Za-z0-9._~+/-]{20,}=*"
        ),
    ),
    _Detector(
        "email",
        re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b"),
    ),
    _Detector(
        "card",
        re.compile(r"(?<![+\d])\b(?:[2-6]\d|1800|2131)(?:[ -]?\d){10,17}\b"),
        lambda v: _luhn_valid(_digits(v)),
    ),
    _Detector(
        "iban",
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\b", re.IGNORECASE),
        lambda v: _iban_valid(v.replace(" ", "").upper()),
    ),
    _Detector(
        "aadhaar",
        re.compile(r"\b[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}\b"),
        lambda v: _verhoeff_valid(_digits(v)),
    ),
    _Detector("ssn", re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b")),
    _Detector(
        "ni_number",
        re.compile(r"\b(?![DFIQUV])[A-Z](?![DFIQUVO])[A-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
    ),
    # India's Permanent Account Number: the fourth letter names the holder's type.
    _Detector("pan", re.compile(r"\b[A-Z]{3}[ABCFGHJLPT][A-Z]\d{4}[A-Z]\b")),
    _Detector("ifsc", re.compile(r"\b[A-Z]{4}0[A-Z0-9]{6}\b")),
    # International or national numbers in groups; dates of the same shape are left alone.
    _Detector(
        "phone",
        re.compile(
            r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,12}(?:[ .-]\d{2,8}){0,4}"
            r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w])"
        ),
        _phone_like,
    ),
)

KINDS = tuple(detector.kind for detector in DETECTORS)


def find(text: str, kinds: Iterable[str] = KINDS) -> list[Span]:
    """The sensitive values in `text`, in order, none overlapping another."""
    wanted = set(kinds)
    taken: list[Span] = []
    for detector in DETECTORS:
        if detector.kind not in wanted:
            continue
        for match in detector.pattern.finditer(text):
            start, end = match.span()
            if any(start < span.end and span.start < end for span in taken):
                continue
            if detector.check(match[0]):
                taken.append(Span(detector.kind, start, end, match[0]))
    return sorted(taken, key=lambda span: span.start)


def mask(text: str, kinds: Iterable[str] = KINDS, *, prefix: str = "") -> str:
    """`text` with each sensitive value found replaced by its kind in brackets: "my card
    4111 1111 1111 1111" is "my card [card]" (with `prefix` "redacted ", "[redacted card]")."""
    spans = find(text, kinds)
    if not spans:
        return text
    parts: list[str] = []
    at = 0
    for span in spans:
        parts.append(text[at : span.start])
        parts.append(f"[{prefix}{span.kind}]")
        at = span.end
    parts.append(text[at:])
    return "".join(parts)
