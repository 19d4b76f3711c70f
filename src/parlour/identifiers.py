"""The one rule for what clients name (T-90): source names, user ids, labels, display names,
organisation names, e-mail addresses, origins, URLs. Every service applies it where such a name
enters, so the API, the dashboard and the CLI refuse the same things with the same error.

Refused, anywhere in a name:
- control characters (Unicode category Cc: NUL, BEL, ESC, line breaks, C1 controls): they
  forge lines in logs and mail headers, and drive the operator's terminal (CSI/OSC sequences);
  PostgreSQL cannot even store NUL;
- line and paragraph separators (Zl, Zp, U+2028/U+2029), which break lines like a newline;
- format characters (Cf): the bidirectional controls (U+202A-U+202E, U+2066-U+2069, U+200E,
  U+200F, U+061C), which make a name read in another order than it is stored, and the invisible
  ones (zero-width space, word joiner, BOM, soft hyphen, tags), which make two names that look
  alike differ;
- lone surrogates (Cs), which no UTF-8 store accepts.

The two zero-width joiners (U+200C, U+200D) are kept where they join two visible characters:
Persian and the Indic scripts need them to be written at all, and so do emoji sequences.

Free text that clients write (an operator's reason, a prompt template) keeps its line breaks,
tabs and bidirectional marks, which prose needs, but no other control character (`check_text`).
"""

from __future__ import annotations

import re
import unicodedata

from parlour.errors import InvalidIdentifier, InvalidInput

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_JOINERS = frozenset({"\u200c", "\u200d"})
# Category Cc is exactly these two ranges; prose keeps line feed, carriage return and tab.
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def first_refused(value: str) -> int | None:
    """The index of the first character the rule refuses in `value`, or None."""
    if value.isprintable():  # the common case, in C: no Cc, Cf, Cs, Zl or Zp at all
        return None
    last = len(value) - 1
    for index, char in enumerate(value):
        if unicodedata.category(char) not in _REFUSED_CATEGORIES:
            continue
        if char in _JOINERS and 0 < index < last and _visible(value[index - 1], value[index + 1]):
            continue
        return index
    return None


def _visible(*chars: str) -> bool:
    return all(not char.isspace() and unicodedata.category(char)[0] not in "CZ" for char in chars)


def check_identifier(value: str, what: str) -> str:
    """`value`, if the rule allows it; otherwise InvalidIdentifier saying which character, by
    code point (never the character itself, which would do its harm in the answer)."""
    index = first_refused(value)
    if index is None:
        return value
    code_point = f"U+{ord(value[index]):04X}"
    raise InvalidIdentifier(
        f"{what} may not contain control, bidirectional or invisible formatting characters "
        f"({code_point} at position {index + 1})",
        details={"character": code_point, "position": index + 1},
    )


def check_text(value: str, what: str) -> str:
    """`value`, if it holds no control character but line breaks and tabs; otherwise
    InvalidInput saying which, by code point."""
    found = _TEXT_CONTROL.search(value)
    if found is None:
        return value
    code_point = f"U+{ord(found[0]):04X}"
    raise InvalidInput(
        f"{what} may not contain control characters ({code_point} at position {found.start() + 1})",
        details={"character": code_point, "position": found.start() + 1},
    )
