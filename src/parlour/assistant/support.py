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

from collections.abc import Iterable

from parlour.words import content_words

__all__ = ["Support", "content_words"]


class Support:
    """The words a turn's answer may draw on."""

    def __init__(self, sources: Iterable[str] = ()) -> None:
        self._known: set[str] = set()
        for text in sources:
            self.add(text)

    def add(self, text: str) -> None:
        self._known.update(content_words(text))

    def knows(self, word: str) -> bool:
        """Whether `word` (a content word, as parlour.words gives it) is in the material."""
        return word in self._known

    def measure(self, answer: str) -> tuple[int, float]:
        """How many content words `answer` has, and the share of them supported (1.0 for
        none: an answer of only function words claims nothing)."""
        words = content_words(answer)
        if not words:
            return 0, 1.0
        return len(words), sum(word in self._known for word in words) / len(words)
