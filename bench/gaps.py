"""bench/gaps: how well unanswered questions group by meaning (issue 21, knowledge gaps).

On banking77 (../shared/corpora; skipped with a message when absent): customers' questions
labelled with one of 77 intents stand for the questions an assistant could not answer. A sample
of intents, each asked a different number of times, is grouped as the gaps report groups them
(parlour.knowledge.clusters), with MiniLM vectors and with the lexical fallback.

- pairwise precision: of the pairs put in one group, the share that ask the same intent
  (unrelated questions kept apart);
- pairwise recall: of the pairs that ask the same intent, the share put in one group
  (paraphrases grouped);
- top-5 purity: the share of the five largest groups' questions that ask their group's most
  common intent, and whether the most asked intent leads the report.

Thresholds are swept on training sentences; the chosen ones (F0.5: precision counts double, a
report that merges different needs misleads more than one that splits a need in two) are then
reported on test sentences, never tuned there.
"""

from __future__ import annotations

import csv
import random
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from parlour.knowledge.clusters import DENSE_THRESHOLD, LEXICAL_THRESHOLD, group, lexical_vectors
from parlour.knowledge.embeddings import Vectors, shared_minilm

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
INTENTS = 30
SWEEP = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8)


def sample(path: Path, seed: int) -> tuple[list[str], list[str]]:
    """Questions of `INTENTS` random intents, intent k asked about 40/k times (a long tail)."""
    with path.open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    by_intent: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        by_intent[row["category"]].append(row["text"])
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not a secret
    intents = rng.sample(sorted(by_intent), INTENTS)
    texts: list[str] = []
    labels: list[str] = []
    for rank, intent in enumerate(intents, start=1):
        asked = rng.sample(by_intent[intent], min(len(by_intent[intent]), max(1, 40 // rank)))
        texts += asked
        labels += [intent] * len(asked)
    order = list(range(len(texts)))
    rng.shuffle(order)
    return [texts[i] for i in order], [labels[i] for i in order]


def scores(groups: list[list[int]], labels: list[str]) -> tuple[float, float, float, bool]:
    together = same = both = 0
    for members in groups:
        counts = Counter(labels[i] for i in members)
        together += len(members) * (len(members) - 1) // 2
        both += sum(c * (c - 1) // 2 for c in counts.values())
    for c in Counter(labels).values():
        same += c * (c - 1) // 2
    top = groups[:5]
    pure = sum(Counter(labels[i] for i in g).most_common(1)[0][1] for g in top)
    purity = pure / max(1, sum(len(g) for g in top))
    most_asked = Counter(labels).most_common(1)[0][0]
    leads = (
        bool(groups) and Counter(labels[i] for i in groups[0]).most_common(1)[0][0] == most_asked
    )
    return both / max(1, together), both / max(1, same), purity, leads


def f_half(precision: float, recall: float) -> float:
    if precision + recall == 0:
        return 0.0
    return 1.25 * precision * recall / (0.25 * precision + recall)


def vectors_of(kind: str, texts: list[str]) -> Vectors:
    return shared_minilm().embed(texts) if kind == "dense" else lexical_vectors(texts)


async def run() -> str:
    train, test = CORPORA / "banking77" / "train.csv", CORPORA / "banking77" / "test.csv"
    if not train.exists():
        return f"## Knowledge gaps\n\nskipped: {train} not found\n"
    lines = ["## Knowledge gaps: grouping unanswered questions (banking77)", ""]
    chosen_now = {"dense": DENSE_THRESHOLD, "lexical": LEXICAL_THRESHOLD}
    for kind in ("dense", "lexical"):
        sweep: dict[float, list[float]] = defaultdict(list)
        for seed in range(3):
            texts, labels = sample(train, seed)
            vectors = vectors_of(kind, texts)
            for threshold in SWEEP:
                precision, recall, _, _ = scores(group(vectors, threshold), labels)
                sweep[threshold].append(f_half(precision, recall))
        best = max(SWEEP, key=lambda t: float(np.mean(sweep[t])))
        table = ", ".join(f"{t}: {np.mean(sweep[t]):.2f}" for t in SWEEP)
        lines.append(f"- {kind}: F0.5 on training sentences by threshold: {table}")
        lines.append(f"  - best {best}; in use {chosen_now[kind]}")
        for seed in range(3):
            texts, labels = sample(test, 100 + seed)
            vectors = vectors_of(kind, texts)
            started = time.perf_counter()
            groups = group(vectors, chosen_now[kind])
            took = (time.perf_counter() - started) * 1000
            precision, recall, purity, leads = scores(groups, labels)
            lines.append(
                f"  - test sample {seed}: {len(texts)} questions of {INTENTS} intents -> "
                f"{len(groups)} groups; precision {precision:.2f}, recall {recall:.2f}, "
                f"top-5 purity {purity:.2f}, most asked intent leads: {leads} "
                f"(grouping {took:.0f} ms)"
            )
    rng = np.random.default_rng(0)
    many = rng.standard_normal((2000, 384)).astype(np.float32)
    many /= np.linalg.norm(many, axis=1, keepdims=True)
    started = time.perf_counter()
    group(many, DENSE_THRESHOLD)
    took = (time.perf_counter() - started) * 1000
    lines.append(f"- 2,000 unrelated questions (the report's cap) grouped in {took:.0f} ms")
    return "\n".join(lines) + "\n"
