"""Whether a generated answer is degenerate: what a small model writes when it cannot answer
(issue 23). SmolLM2-135M, given a question and its passages, may loop on one sentence or phrase
until the token limit, repeat the customer's question back, or say nothing with content. Such
an answer is replaced by the best passage (assistant/service.py), the turn recorded as a
fallback for the reason `degenerate`.

- Repetition: a sentence said a second time; or a good part of the answer's word sequences
  said before in it (content-word trigrams, so a list of opening hours repeating "9:00 to
  17:00" is not a loop, and any word 4-grams, so a loop of function words is). Judged as the
  answer streams, so a loop is stopped early instead of running to the token limit.
- Echo: almost every pair of adjacent words in the answer is one the question has.
- Empty: no content word at all ("", "I'm sorry.", "Yes [k1].").

Echo and emptiness are judged on the whole answer only: a beginning may be either.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence

from parlour.assistant.claims import REFERENCE, SHOWN_NUMBER
from parlour.words import content_words

REPETITION = "repetition"
ECHO = "echo"
EMPTY = "empty"

SENTENCE_REPEATS = 2  # a sentence said this many times is a loop
SENTENCE_WORDS = 5  # if it has at least this many words ("Yes." twice is not)
REPEATED_SHARE = 0.3  # of the content-word trigrams, seen earlier in the answer
MIN_REPEATED = 6  # and at least this many of them, so a short answer is not judged on a few
REPEATED_WORDS_SHARE = 0.4  # of all word 4-grams
MIN_REPEATED_WORDS = 10
ECHO_SHARE = 0.8  # of the answer's word pairs found in the question
MIN_ECHO_PAIRS = 3

_WORD = re.compile(r"[^\W_]+")
_TAG = re.compile(r"</?[A-Za-z_][^<>\n]*>")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


class Degeneration:
    """Judges the answers to one question."""

    def __init__(self, question: str) -> None:
        self._question_pairs = set(_pairs(_words(question)))

    def judge(self, answer: str, *, final: bool) -> str | None:
        """Why `answer` (so far, unless `final`) is degenerate, or None."""
        text = SHOWN_NUMBER.sub(" ", REFERENCE.sub(" ", _TAG.sub(" ", answer)))
        if _repeats(text):
            return REPETITION
        if not final:
            return None
        if not content_words(text):
            return EMPTY
        pairs = _pairs(_words(text))
        if len(pairs) >= MIN_ECHO_PAIRS:
            echoed = sum(pair in self._question_pairs for pair in pairs)
            if echoed >= ECHO_SHARE * len(pairs):
                return ECHO
        return None


def _repeats(text: str) -> bool:
    sentences = Counter(
        " ".join(words) for part in _SENTENCE_END.split(text) if len(words := _words(part)) >= 3
    )
    if sentences and max(sentences.values()) >= SENTENCE_REPEATS:
        return True
    return _repeated(content_words(text), 3, REPEATED_SHARE, MIN_REPEATED) or _repeated(
        _words(text), 4, REPEATED_WORDS_SHARE, MIN_REPEATED_WORDS
    )


def _repeated(words: Sequence[str], n: int, share: float, least: int) -> bool:
    """Whether at least `least` and `share` of the n-grams of `words` occurred before."""
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    seen: set[tuple[str, ...]] = set()
    again = 0
    for gram in grams:
        again += gram in seen
        seen.add(gram)
    return again >= least and again >= share * len(grams)


def _words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


def _pairs(words: list[str]) -> list[tuple[str, str]]:
    return list(itertools.pairwise(words))
