"""bench/retrieval: how well and how fast a tenant's FAQ is searched (issue 5).

Quality, on ../shared/corpora (skipped with a message when absent):
- covid_qa_faq: paraphrased questions -> their FAQ entry; hit@1, hit@3 and MRR for lexical,
  dense and hybrid retrieval;
- banking77: one entry per training sentence, labelled with its intent; test queries score a
  hit when the best entry has their intent;
- BIPIA attacks planted in FAQ answers: how many screening holds back, and false positives.
- hint3 (three bots): the abstain signal. Entries from each bot's training sentences; its test
  queries include out-of-scope ones (NO_NODES_DETECTED) that must not get a confident answer.
  The confidence threshold is chosen on one half of the test queries and reported on the other.
Speed: importing 10,000 FAQ entries (with embeddings) through KnowledgeService, and query latency
at 1k, 10k and 100k entries in one tenant.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import random
import secrets
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.harness import percentile
from parlour.audit.events import Actor
from parlour.knowledge.embeddings import shared_minilm
from parlour.knowledge.models import FaqEntry, Hit
from parlour.knowledge.retrieval import HybridIndex
from parlour.knowledge.screening import personal_data, screen
from parlour.services import build_services
from parlour.settings import Settings

CORPORA = Path(__file__).resolve().parents[2] / "shared" / "corpora"
HINT3_BOTS = ("sofmattress", "curekart", "powerplay11")
OUT_OF_SCOPE = "NO_NODES_DETECTED"
Search = Callable[[str, int], list[Hit]]


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.DictReader(file))


def entries_from(questions: Sequence[str], answers: Sequence[str]) -> list[FaqEntry]:
    now = datetime.now(UTC)
    return [
        FaqEntry("bench", f"e{i}", question, answer, now)
        for i, (question, answer) in enumerate(zip(questions, answers, strict=True))
    ]


def searches(index: HybridIndex, queries: Sequence[str]) -> dict[str, Search]:
    """lexical, dense and hybrid search functions over one index, query vectors computed once."""
    vectors = dict(zip(queries, shared_minilm().embed(list(queries)), strict=True))
    assert index.dense is not None
    dense = index.dense
    return {
        "lexical": lambda q, k: index.lexical.search(q, k),
        "dense": lambda q, k: dense.search(vectors[q], k),
        "hybrid": lambda q, k: index.search(q, vectors[q], k),
    }


def covid_quality() -> list[str]:
    faq = read_csv(CORPORA / "covid_qa_faq" / "faq_covidbert.csv")
    pairs = read_csv(CORPORA / "covid_qa_faq" / "eval_question_similarity_en.csv")
    questions = list(dict.fromkeys(row["question"] for row in faq))
    answers = {row["question"]: row["answer"] for row in faq}
    entries = entries_from(questions, [answers[q] for q in questions])
    index = HybridIndex(entries, shared_minilm().embed(questions))
    cases = [
        (row["question_2"], row["question_1"])
        for row in pairs
        if row["similar"] == "1" and row["question_1"] in answers
    ]
    lines = [
        f"- covid_qa_faq: {len(entries)} entries, {len(cases)} paraphrased questions",
        "",
        "  | retrieval | hit@1 | hit@3 | MRR |",
        "  |---|---|---|---|",
    ]
    for name, search in searches(index, [q for q, _ in cases]).items():
        ranks = []
        for query, target in cases:
            found = [hit.entry.question for hit in search(query, 10)]
            ranks.append(found.index(target) + 1 if target in found else None)
        hit1 = sum(r == 1 for r in ranks) / len(ranks)
        hit3 = sum(r is not None and r <= 3 for r in ranks) / len(ranks)
        mrr = sum(1 / r for r in ranks if r) / len(ranks)
        lines.append(f"  | {name} | {hit1:.3f} | {hit3:.3f} | {mrr:.3f} |")
    return lines


def banking77_quality() -> list[str]:
    train = read_csv(CORPORA / "banking77" / "train.csv")
    test = read_csv(CORPORA / "banking77" / "test.csv")
    entries = entries_from([r["text"] for r in train], [r["category"] for r in train])
    index = HybridIndex(entries, shared_minilm().embed([r["text"] for r in train]))
    queries = [r["text"] for r in test]
    lines = [f"- banking77: {len(entries):,} entries (training sentences), {len(test):,} queries;"]
    accuracy = []
    for name, search in searches(index, queries).items():
        correct = sum(
            bool(hits := search(r["text"], 1)) and hits[0].entry.answer == r["category"]
            for r in test
        )
        accuracy.append(f"{name} {correct / len(test):.3f}")
    return [lines[0] + " intent of the best entry right: " + ", ".join(accuracy)]


def hint3_abstain() -> list[str]:
    """Per bot: entries from training sentences; a test query is answered when the best hit's
    confidence reaches the threshold, else the assistant abstains."""
    lines = ["- hint3, abstain on out-of-scope queries (hybrid confidence):"]
    for bot in HINT3_BOTS:
        train = read_csv(CORPORA / "hint3_v2" / f"{bot}_train.csv")
        test = read_csv(CORPORA / "hint3_v2" / f"{bot}_test.csv")
        entries = entries_from([r["sentence"] for r in train], [r["label"] for r in train])
        index = HybridIndex(entries, shared_minilm().embed([r["sentence"] for r in train]))
        hybrid = searches(index, [r["sentence"] for r in test])["hybrid"]
        scored = []
        for row in test:
            hits = hybrid(row["sentence"], 1)
            confidence = hits[0].confidence if hits else 0.0
            label = hits[0].entry.answer if hits else ""
            scored.append((row, confidence, label))
        tune = [s for s in scored if _half(s[0]["sentence"]) == 0]
        report = [s for s in scored if _half(s[0]["sentence"]) == 1]
        threshold = max((t / 100 for t in range(20, 96)), key=lambda t: _abstain_f1(tune, t)[2])
        precision, recall, _ = _abstain_f1(report, threshold)
        answered = [s for s in report if s[1] >= threshold and s[0]["label"] != OUT_OF_SCOPE]
        right = sum(s[2] == s[0]["label"] for s in answered)
        in_scope = sum(s[0]["label"] != OUT_OF_SCOPE for s in report)
        lines.append(
            f"  - {bot}: threshold {threshold:.2f} (chosen on the other half); abstain "
            f"precision {precision:.3f}, recall {recall:.3f}; in-scope queries answered "
            f"{len(answered)}/{in_scope}, of which right {right}/{len(answered)}"
        )
    return lines


def screening_quality() -> list[str]:
    """BIPIA attack strings planted at the end of covid FAQ answers, and the answers as they
    are. The patterns were written looking at each attack category's first two strings (the
    "seen" half); the other three per category are reported apart."""
    answers = [row["answer"] for row in read_csv(CORPORA / "covid_qa_faq" / "faq_covidbert.csv")]
    halves: dict[str, list[bool]] = {"seen": [], "unseen": []}
    for name in ("text_attack_train.json", "code_attack_train.json"):
        attacks = json.loads((CORPORA / "bipia" / name).read_text())
        for strings in attacks.values():
            for i, attack in enumerate(strings):
                planted = f"{answers[len(halves['seen']) * 7 % len(answers)]}\n\n{attack}"
                halves["seen" if i < 2 else "unseen"].append(bool(screen(planted)))
    false_positives = sum(bool(screen(answer)) for answer in answers)
    questions = [row["text"] for row in read_csv(CORPORA / "banking77" / "train.csv")]
    flagged_questions = sum(bool(screen(q, question=True)) for q in questions)
    return [
        "- screening (BIPIA text and code attacks planted in covid FAQ answers): detected "
        f"{sum(halves['seen'])}/{len(halves['seen'])} of the seen strings, "
        f"**{sum(halves['unseen'])}/{len(halves['unseen'])}** "
        f"({sum(halves['unseen']) / len(halves['unseen']):.0%}) of the unseen; false positives "
        f"on the {len(answers)} benign answers: {false_positives}, and on "
        f"{len(questions):,} banking77 customer questions screened as FAQ questions: "
        f"{flagged_questions}"
    ]


# The kinds of personal data screening looks for, as presidio's synthetic set labels them.
SCREENED_PII = ("CREDIT_CARD", "IBAN_CODE", "US_SSN")


def personal_data_screening() -> list[str]:
    """presidio-synth-pii sentences: how many holding a card number, IBAN or SSN are flagged
    (recall per kind), and how many holding none of those are flagged (false positives: their
    phone numbers, dates, addresses and zip codes must pass). The patterns were written from
    the standards (check digits, number formats); in session 4 the card prefixes (12-digit
    Maestro, JCB) and lower-case IBANs were added after reading this set's misses, so its card
    and IBAN figures are no longer blind."""
    sentences = json.loads((CORPORA / "presidio-synth-pii" / "synth_dataset_v2.json").read_text())
    found: dict[str, list[bool]] = {kind: [] for kind in SCREENED_PII}
    clean: list[bool] = []
    for sentence in sentences:
        kinds = {span["entity_type"] for span in sentence["spans"]} & set(SCREENED_PII)
        flagged = personal_data(sentence["full_text"]) is not None
        for kind in kinds:
            found[kind].append(flagged)
        if not kinds:
            clean.append(flagged)
    recall = ", ".join(f"{kind} {sum(v)}/{len(v)}" for kind, v in found.items())
    return [
        f"- personal data in uploads (presidio-synth-pii, {len(sentences)} sentences): flagged "
        f"{recall}; false positives {sum(clean)}/{len(clean)} sentences without those kinds "
        "(their phone numbers, dates and addresses)"
    ]


def _half(text: str) -> int:
    return hashlib.sha256(text.encode()).digest()[0] % 2


def _abstain_f1(
    scored: Sequence[tuple[dict[str, str], float, str]], threshold: float
) -> tuple[float, float, float]:
    abstained = [s for s in scored if s[1] < threshold]
    out_of_scope = [s for s in scored if s[0]["label"] == OUT_OF_SCOPE]
    true = sum(s[0]["label"] == OUT_OF_SCOPE for s in abstained)
    precision = true / len(abstained) if abstained else 0.0
    recall = true / len(out_of_scope) if out_of_scope else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


async def speed() -> list[str]:
    train = read_csv(CORPORA / "banking77" / "train.csv")[:10_000]
    queries = [r["text"] for r in read_csv(CORPORA / "banking77" / "test.csv")[:200]]
    lines = []
    with tempfile.TemporaryDirectory() as folder:
        key = base64.b64encode(secrets.token_bytes(32)).decode()
        settings = Settings(environment="test", data_dir=folder, crypto={"master_key": key})
        services = build_services(settings)
        try:
            await services.migrate()
            actor = Actor.system("bench")
            for size in (1_000, 10_000):
                tenant = await services.tenants.create(f"Bench {size}", [], actor=actor)
                started = time.perf_counter()
                report = await services.knowledge.import_faq_csv(
                    tenant.tenant_id, _faq_csv(train[:size]), actor=actor
                )
                imported_in = time.perf_counter() - started
                await services.knowledge.search(tenant.tenant_id, "warm up")
                timings = []
                for query in queries:
                    started = time.perf_counter()
                    await services.knowledge.search(tenant.tenant_id, query)
                    timings.append(time.perf_counter() - started)
                lines.append(
                    f"- {report.imported:,} entries: imported with embeddings in "
                    f"{imported_in:.1f} s; query p50 {percentile(timings, 50) * 1e3:.1f} ms, "
                    f"p95 {percentile(timings, 95) * 1e3:.1f} ms (KnowledgeService.search, "
                    "SQLite, index cached)"
                )
        finally:
            await services.aclose()
    lines.append(_hundred_thousand(train, queries))
    return lines


def _hundred_thousand(train: list[dict[str, str]], queries: list[str]) -> str:
    """100,000 entries: the training sentences ten times over with a varying suffix, and real
    embeddings of the 10,000 repeated with small noise (embedding 100,000 texts would take
    minutes and measure the model, not the index). Query time includes embedding the query."""
    rng = np.random.default_rng(7)
    texts = [f"{r['text']} ({n})" for n in range(10) for r in train]
    base = shared_minilm().embed([r["text"] for r in train])
    noisy = np.concatenate([base + rng.normal(0, 0.01, base.shape) for _ in range(10)])
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    index = HybridIndex(entries_from(texts, texts), noisy.astype(np.float32))
    timings = []
    sample = random.Random(7).sample(queries, 100)  # noqa: S311 - a sample, not a secret
    for query in sample:
        started = time.perf_counter()
        index.search(query, shared_minilm().embed([query])[0], 3)
        timings.append(time.perf_counter() - started)
    return (
        f"- {len(texts):,} entries (index in memory, see the module docstring): query p50 "
        f"{percentile(timings, 50) * 1e3:.1f} ms, p95 {percentile(timings, 95) * 1e3:.1f} ms"
    )


def _faq_csv(rows: Sequence[dict[str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["question", "answer"])
    for row in rows:
        writer.writerow([row["text"], row["category"]])
    return out.getvalue().encode()


async def run() -> str:
    lines = ["### bench/retrieval", ""]
    if not CORPORA.is_dir():
        return "\n".join([*lines, f"skipped: {CORPORA} is absent", ""])
    lines += covid_quality()
    lines += ["", *banking77_quality(), *hint3_abstain(), *screening_quality()]
    lines += personal_data_screening()
    lines += ["", *await speed()]
    return "\n".join([*lines, ""])
