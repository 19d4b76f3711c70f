"""Content words of English text, compared loosely: case, accents and a plural, past-tense or
-ing ending do not matter, and the commonest function words are left out. Shared by the answer
filter's support measure (T-68) and screening's test for a request foreign to its passage (T-65).
"""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W\d_]{2,}")
_ENDINGS = ("ing", "ed", "es", "s")
# Function words, pronouns and the politeness of any answer; short on purpose: a word missing
# here only counts against an answer that uses it and its knowledge does not.
_FUNCTION_WORDS = """
about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each either else
even ever every few for from further had has have having he her here hers herself him
himself his how however if in into is it its itself just least less let like may me might
more most much must my myself neither no nor not now of off often on once one only or other
our ours ourselves out over own per please rather same shall she should since so some such
than thank thanks that the their theirs them themselves then there these they this those
though through thus to too under until up upon us very via was we were what whatever when
where whether which while who whom whose why will with within without would yes yet you your
yours yourself yourselves hello hi sure okay ok help glad happy sorry welcome anything
something nothing everything question questions answer answers know information re ll ve don
doesn didn isn aren wasn weren won couldn shouldn wouldn haven hasn hadn
"""
FUNCTION_WORDS = frozenset(_FUNCTION_WORDS.split())


def content_words(text: str) -> list[str]:
    """The words of `text` that carry its content, in a loose comparable form."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return [_stem(word) for word in _WORD.findall(plain) if word not in FUNCTION_WORDS]


def _stem(word: str) -> str:
    """Close, closed, closes and closing all become "clos"."""
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 3:
            word = word[: -len(ending)]
            break
    return word[:-1] if word.endswith("e") and len(word) > 3 else word
