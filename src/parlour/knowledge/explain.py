"""Why retrieval found what it found, for a person to read (the dashboard's "try a question"
console): the fused hits a turn would get, and beside each one its rank and score in the
lexical list and in the dense one, when it was in them. The same index and query embedding as
the turn's search; the two lists are read again from it, which costs a fraction of the search.
"""

from __future__ import annotations

from dataclasses import dataclass

from parlour.knowledge.embeddings import Vectors
from parlour.knowledge.models import Calibration, Hit
from parlour.knowledge.retrieval import CANDIDATES, HybridIndex


@dataclass(frozen=True, slots=True)
class Ranked:
    """An entry's place in one of retrieval's lists: 1 is first."""

    rank: int
    score: float  # BM25 for the lexical list, cosine similarity for the dense one
    confidence: float


@dataclass(frozen=True, slots=True)
class ExplainedHit:
    hit: Hit  # as the turn gets it: the fused score and the confidence it decides on
    lexical: Ranked | None
    dense: Ranked | None  # None when dense retrieval is off, or the entry was not in its list


@dataclass(frozen=True, slots=True)
class Explained:
    hits: tuple[ExplainedHit, ...]
    dense: bool  # whether dense retrieval took part
    # The live version's calibrated thresholds, as `Retrieved.calibration` (when dense took part)
    calibration: Calibration | None = None


def explain(index: HybridIndex, query: str, query_vector: Vectors | None, limit: int) -> Explained:
    """The hits a turn gets for `query`, each with its places in the lexical and dense lists."""
    hits = index.search(query, query_vector, limit)
    lexical = _places(index.lexical.search(query, CANDIDATES))
    dense: dict[str, Ranked] = {}
    if index.dense is not None and query_vector is not None:
        dense = _places(index.dense.search(query_vector, CANDIDATES))
    return Explained(
        tuple(
            ExplainedHit(hit, lexical.get(hit.entry.entry_id), dense.get(hit.entry.entry_id))
            for hit in hits
        ),
        dense=index.dense is not None and query_vector is not None,
    )


def _places(hits: list[Hit]) -> dict[str, Ranked]:
    return {
        hit.entry.entry_id: Ranked(rank, hit.score, hit.confidence)
        for rank, hit in enumerate(hits, start=1)
    }
