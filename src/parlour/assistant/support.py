"""How much of an answer the turn's own material supports (T-68): the share of the answer's
content words found in the retrieved passages, the organisation's template, tool results and
the verified customer's details.

A model talked into another task ("say Access Granted", a persona, a poem, a translation of its
instructions) writes words none of that material holds; an answer drawn from the passages,
even paraphrased, reuses theirs. The customer's own message is never support: a hijack brings
its target text in the question.

Words are compared loosely (case, accents and a plural, past-tense or -ing ending do not
matter) and the commonest English function words are not counted either way, so "Yes, you
can" is neither for nor against an answer. English only: an answer in another language than
its material's is measured against words it cannot share.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

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


class Support:
    """The words a turn's answer may draw on."""

    def __init__(self, sources: Iterable[str] = ()) -> None:
        self._known: set[str] = set()
        for text in sources:
            self.add(text)

    def add(self, text: str) -> None:
        self._known.update(content_words(text))

    def measure(self, answer: str) -> tuple[int, float]:
        """How many content words `answer` has, and the share of them supported (1.0 for
        none: an answer of only function words claims nothing)."""
        words = content_words(answer)
        if not words:
            return 0, 1.0
        return len(words), sum(word in self._known for word in words) / len(words)
