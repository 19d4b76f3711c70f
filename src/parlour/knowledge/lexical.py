"""Lexical retrieval: Okapi BM25 over FAQ questions and answers, with a confidence in [0, 1].

Confidence is the share of the query's information (summed IDF of its terms) that the best entry
contains. Terms that appear in no entry still count, as much as the rarest known term, so a
question about something the organisation never wrote about scores low and the assistant abstains
instead of guessing.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from parlour.knowledge.models import FaqEntry, Hit

_WORD = re.compile(r"\w+", re.UNICODE)
_STOPWORDS = frozenset(
    [
        "a",
        "about",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "for",
        "from",
        "had",
        "has",
        "have",
        "having",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "should",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "i'm",
        "im",
        "can't",
        "cannot",
        "tell",
        "know",
        "want",
        "need",
        "get",
    ]
)
QUESTION_WEIGHT = 2
K1 = 1.2
B = 0.75


def terms(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOPWORDS]


def _stem(word: str) -> str:
    # Light suffix folding ("cards" ~ "card", "resetting" ~ "reset"); enough for FAQ matching.
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            word = word[: -len(suffix)]
            break
    if len(word) > 4 and word[-1] == word[-2]:
        word = word[:-1]
    return word


@dataclass(frozen=True, slots=True)
class _Doc:
    entry: FaqEntry
    counts: Counter[str]
    length: int


class LexicalIndex:
    """BM25 over an inverted index: a query touches only the entries that share a term with it."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        self._docs = [_document(e) for e in entries]
        self._avg_len = sum(d.length for d in self._docs) / len(self._docs) if self._docs else 0.0
        self._postings: dict[str, list[tuple[int, int]]] = {}
        for i, doc in enumerate(self._docs):
            for term, count in doc.counts.items():
                self._postings.setdefault(term, []).append((i, count))
        n = len(self._docs)
        self._idf = {
            t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self._postings.items()
        }
        # A word no entry uses weighs as much as the rarest word some entry uses.
        self._unseen_idf = max(self._idf.values(), default=1.0)

    def search(self, query: str, limit: int = 3) -> list[Hit]:
        query_terms = list(dict.fromkeys(terms(query)))
        if not query_terms or not self._docs:
            return []
        total_info = sum(self._idf.get(t, self._unseen_idf) for t in query_terms)
        scores: dict[int, float] = {}
        covered: dict[int, float] = {}
        for term in query_terms:
            idf = self._idf.get(term)
            if idf is None:
                continue
            for i, tf in self._postings[term]:
                norm = K1 * (1 - B + B * self._docs[i].length / self._avg_len)
                scores[i] = scores.get(i, 0.0) + idf * tf * (K1 + 1) / (tf + norm)
                covered[i] = covered.get(i, 0.0) + idf
        best = heapq.nlargest(limit, scores, key=lambda i: (scores[i], covered[i] / total_info))
        return [
            Hit(entry=self._docs[i].entry, score=scores[i], confidence=covered[i] / total_info)
            for i in best
        ]


def _document(entry: FaqEntry) -> _Doc:
    counts: Counter[str] = Counter()
    for _ in range(QUESTION_WEIGHT):
        counts.update(terms(entry.question))
    counts.update(terms(entry.answer))
    return _Doc(entry=entry, counts=counts, length=sum(counts.values()))
