"""Lexical retrieval: Okapi BM25 over FAQ questions and answers, with a confidence in [0, 1].

Confidence is the share of the query's information (summed IDF of its terms) that the best entry
contains. Terms that appear in no entry still count, as much as the rarest known term, so a
question about something the organisation never wrote about scores low and the assistant abstains
instead of guessing.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

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
    """BM25 over an inverted index whose postings carry each entry's precomputed term weight, so
    a query is a few vector additions over the entries that share a term with it."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        docs = [_document(e) for e in entries]
        self._entries = [d.entry for d in docs]
        avg_len = sum(d.length for d in docs) / len(docs) if docs else 0.0
        postings: dict[str, list[tuple[int, int]]] = {}
        for i, doc in enumerate(docs):
            for term, count in doc.counts.items():
                postings.setdefault(term, []).append((i, count))
        n = len(docs)
        self._idf = {
            t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in postings.items()
        }
        self._postings: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]] = {}
        for term, found in postings.items():
            rows = np.array([i for i, _ in found], dtype=np.int64)
            tf = np.array([count for _, count in found], dtype=np.float64)
            lengths = np.array([docs[i].length for i, _ in found], dtype=np.float64)
            norm = K1 * (1 - B + B * lengths / avg_len)
            self._postings[term] = (rows, self._idf[term] * tf * (K1 + 1) / (tf + norm))
        # A word no entry uses weighs as much as the rarest word some entry uses.
        self._unseen_idf = max(self._idf.values(), default=1.0)

    def search(self, query: str, limit: int = 3) -> list[Hit]:
        asked = list(dict.fromkeys(terms(query)))
        query_terms = [t for t in asked if t in self._postings]
        if not query_terms:
            return []
        total_info = sum(self._idf.get(t, self._unseen_idf) for t in asked)
        scores = np.zeros(len(self._entries))
        covered = np.zeros(len(self._entries))
        for term in query_terms:
            rows, weights = self._postings[term]
            scores[rows] += weights
            covered[rows] += self._idf[term]
        matched = np.flatnonzero(scores)
        count = min(limit, len(matched))
        # Best score first; equal scores by coverage (lexsort sorts by its last key first).
        order = np.lexsort((-covered[matched], -scores[matched]))[:count]
        return [
            Hit(
                entry=self._entries[i],
                score=float(scores[i]),
                confidence=float(covered[i] / total_info),
            )
            for i in matched[order]
        ]


def _document(entry: FaqEntry) -> _Doc:
    counts: Counter[str] = Counter()
    for _ in range(QUESTION_WEIGHT):
        for question in (entry.question, *entry.phrasings, *entry.learned):
            counts.update(terms(question))
    counts.update(terms(entry.answer))
    return _Doc(entry=entry, counts=counts, length=sum(counts.values()))
