"""Grouping short texts by meaning: questions as unit vectors, put together when they are close.

The method is densest-first leader clustering (the "community detection" of sentence-transformers):
the text with the most neighbours above the threshold among those not yet grouped becomes a
group's centre, and its ungrouped neighbours join it; repeat. Every member is within the
threshold of its centre, so the centre is a fair label for the group, and unlike greedy leader
clustering the result does not depend on the order the texts come in (ties go to the earlier
text). One similarity matrix (n x n) and an update of the neighbour counts per group: O(n²) time
and memory, a few tens of milliseconds and 4 MB of booleans at 2,000 texts.

Without embeddings, texts become TF-IDF vectors over their content words (the lexical index's
terms, so "cards" meets "card"), built from the texts being grouped.

Thresholds were chosen on banking77's training sentences and checked on its test sentences
(`python -m bench gaps`, docs/benchmarks.md): paraphrases of one intent group, and different
intents rarely do.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from parlour.knowledge.embeddings import Vectors
from parlour.knowledge.lexical import terms

# Cosine similarity at or above which two questions are taken to ask the same thing.
DENSE_THRESHOLD = 0.65
LEXICAL_THRESHOLD = 0.3


def group(vectors: Vectors, threshold: float) -> list[list[int]]:
    """Indexes of `vectors` (unit rows) grouped, each group's centre first and the rest in
    input order; groups largest first, equal sizes in the order their centres were found."""
    n = len(vectors)
    if n == 0:
        return []
    near = (vectors @ vectors.T) >= threshold
    np.fill_diagonal(near, True)
    free = np.ones(n, dtype=bool)
    neighbours = near.sum(axis=1).astype(np.int64)
    groups: list[list[int]] = []
    while free.any():
        counts = np.where(free, neighbours, -1)
        centre = int(np.argmax(counts))  # the first of the densest: deterministic
        members = np.flatnonzero(free & near[centre])
        free[members] = False
        # Those who are left lose the neighbours that were just grouped.
        neighbours -= near[:, members].sum(axis=1)
        groups.append([centre, *(int(m) for m in members if m != centre)])
    groups.sort(key=len, reverse=True)  # stable: equal sizes keep the order found
    return groups


def lexical_vectors(texts: Sequence[str]) -> Vectors:
    """TF-IDF unit vectors of `texts` over the content words they share; a text with no word
    in common with any other is a zero row, and so groups with nothing."""
    counted = [Counter(terms(text)) for text in texts]
    frequency: Counter[str] = Counter()
    for counts in counted:
        frequency.update(counts.keys())
    n = len(texts)
    idf = {t: math.log((1 + n) / (1 + df)) + 1.0 for t, df in frequency.items()}
    # Only words at least two texts use can make two texts alike; the rest still weigh in the
    # norm. Kept to the 4,096 most used so the matrix stays small.
    shared = [t for t, df in frequency.most_common(4096) if df > 1]
    column = {t: i for i, t in enumerate(shared)}
    matrix = np.zeros((n, len(shared)), dtype=np.float32)
    for row, counts in enumerate(counted):
        norm = math.sqrt(sum((c * idf[t]) ** 2 for t, c in counts.items()))
        if norm == 0:
            continue
        for t, c in counts.items():
            if t in column:
                matrix[row, column[t]] = c * idf[t] / norm
    return matrix
