"""Hybrid retrieval over one tenant's FAQ: lexical (BM25) and dense (embeddings), fused by rank.

Reciprocal rank fusion needs no score calibration between the two: each list votes 1/(k + rank)
for its entries. The confidence the assistant abstains on is the stronger of two signals for the
chosen entry: the share of the query's information the entry contains (lexical), and the cosine
similarity of query and entry (dense). Each index holds one tenant's entries only; there is no
query that could reach another tenant's (T-29).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from parlour.knowledge.embeddings import Vectors
from parlour.knowledge.lexical import LexicalIndex
from parlour.knowledge.models import FaqEntry, Hit

RRF_K = 10
CANDIDATES = 20
# The dense list's vote weighs this much more than the lexical one's; with RRF_K, chosen on a
# held-out fifth of banking77's training sentences (docs/benchmarks.md), never on the sets the
# figures are reported on.
DENSE_WEIGHT = 3.0


class DenseIndex:
    """Exact cosine search over unit vectors, in process. An entry may have several vectors (an
    FAQ's question and its phrasings) and scores as the best of them. At 100,000 entries a query
    is one matrix-vector product of 100,000 x 384 floats, a few milliseconds."""

    def __init__(self, entries: Sequence[FaqEntry], vectors: Sequence[Vectors]) -> None:
        if len(entries) != len(vectors):
            raise ValueError("vectors for every entry")
        self._entries = list(entries)
        rows = [np.atleast_2d(v) for v in vectors]
        self._single = all(len(r) == 1 for r in rows)
        self._vectors: Vectors = (
            np.concatenate(rows).astype(np.float32, copy=False)
            if rows
            else np.empty((0, 0), np.float32)
        )
        # Where each entry's rows start (an entry's rows are adjacent, and it has at least one).
        self._starts = np.cumsum([0, *(len(r) for r in rows[:-1])])

    def search(self, query: Vectors, limit: int) -> list[Hit]:
        if not self._entries:
            return []
        similarities = self._vectors @ query
        if not self._single:
            similarities = np.maximum.reduceat(similarities, self._starts)
        count = min(limit, len(self._entries))
        top = np.argpartition(-similarities, count - 1)[:count]
        top = top[np.argsort(-similarities[top])]
        return [
            Hit(
                entry=self._entries[i],
                score=float(similarities[i]),
                confidence=float(np.clip(similarities[i], 0.0, 1.0)),
            )
            for i in top
        ]


class HybridIndex:
    def __init__(
        self,
        entries: Sequence[FaqEntry],
        vectors: Sequence[Vectors] | None,
        *,
        dense_weight: float = DENSE_WEIGHT,
    ) -> None:
        self.lexical = LexicalIndex(entries)
        self.dense = DenseIndex(entries, vectors) if vectors is not None else None
        self._weights = (1.0, dense_weight)

    def search(self, query: str, query_vector: Vectors | None, limit: int) -> list[Hit]:
        lexical = self.lexical.search(query, CANDIDATES)
        if self.dense is None or query_vector is None:
            return lexical[:limit]
        dense = self.dense.search(query_vector, CANDIDATES)
        fused: dict[str, float] = {}
        confidence: dict[str, float] = {}
        entries: dict[str, FaqEntry] = {}
        for ranked, weight in zip((lexical, dense), self._weights, strict=True):
            for rank, hit in enumerate(ranked, start=1):
                key = hit.entry.entry_id
                fused[key] = fused.get(key, 0.0) + weight / (RRF_K + rank)
                confidence[key] = max(confidence.get(key, 0.0), hit.confidence)
                entries[key] = hit.entry
        best = sorted(fused, key=lambda key: (fused[key], confidence[key]), reverse=True)
        return [Hit(entries[key], fused[key], confidence[key]) for key in best[:limit]]
