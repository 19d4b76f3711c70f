"""bench/retrieval: how well and how fast a tenant's FAQ is searched (issues 5 and 23).

Past 400 lines as one benchmark: its corpora, both methods and the report read together.

Quality, on ../shared/corpora (skipped with a message when absent), issue 5's method ("before":
questions only, dense weight 3, confidence the stronger of lexical and dense, one threshold 0.6)
and issue 23's ("after": answers embedded too, dense weight 10, dense confidence, thresholds
calibrated per FAQ by leave-one-out) in one run:
- covid_qa_faq: paraphrased questions -> their FAQ entry; hit@1, hit@3 and MRR for lexical,
  dense and hybrid retrieval; what the assistant's bands do with them (resolved = answered
  with the right entry, or the right entry among the choices offered; answered wrong);
- banking77: one entry per training sentence, labelled with its intent; test queries score a
  hit when the best entry has their intent;
- hint3 (three bots): the bands on the half of each bot's test queries not used for tuning;
  out-of-scope queries (NO_NODES_DETECTED) must not get a confident answer;
- BIPIA attacks planted in FAQ answers: how many screening holds back, and false positives.
Speed: importing 10,000 FAQ entries (with embeddings) through KnowledgeService, and query latency
at 1k, 10k and 100k entries in one tenant (the current method only).
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
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.harness import percentile
from parlour.assistant.bands import Band, Decision, Thresholds, decide
from parlour.assistant.service import TurnLimits
from parlour.audit.events import Actor
from parlour.knowledge.calibration import calibrate
from parlour.knowledge.embeddings import shared_minilm
from parlour.knowledge.models import FaqEntry, Hit
from parlour.knowledge.retrieval import HybridIndex, split_answers
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


# Issue 5's method, kept for the "before" column: questions only, the dense list weighing 3,
# confidence the stronger of lexical coverage and cosine, and one platform threshold (0.6).
BEFORE_BANDS = Thresholds(answer=0.6, offer=0.6)


def before_index(entries: Sequence[FaqEntry]) -> HybridIndex:
    vectors = shared_minilm().embed([e.question for e in entries])
    return HybridIndex(
        entries, list(vectors), dense_weight=3.0, answer_weight=0.0, lexical_confidence=True
    )


def after_index(entries: Sequence[FaqEntry], *, answers: bool = True) -> HybridIndex:
    """Issue 23's method, as the service builds it: the texts an entry is matched by and (for
    a real FAQ) its answer. The bench's hint3 and banking77 "answers" are intent labels, not
    answers, so those sets are embedded without them (`answers=False`)."""
    texts = [e.vector_texts if answers else e.embedded_texts for e in entries]
    flat = shared_minilm().embed([t for group in texts for t in group])
    vectors, start = [], 0
    for group in texts:
        vectors.append(flat[start : start + len(group)])
        start += len(group)
    matched, answers = split_answers(entries, vectors)
    return HybridIndex(entries, matched, answers=answers)


def after_bands(index: HybridIndex) -> Thresholds:
    assert index.dense is not None
    calibration = calibrate(index.dense)
    if calibration is None:
        return BEFORE_BANDS
    return Thresholds(calibration.answer, calibration.offer, TurnLimits().choices)


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


@dataclass
class Outcomes:
    """What the assistant's bands (assistant/bands.py) do with a set's queries: in scope, the
    right entry answered, or among the choices offered (resolved); out of scope, answered,
    offered choices, or abstained. An offer to an out-of-scope query is counted apart: it is
    not an answer, and not an abstention either."""

    answered_right: int = 0
    answered_wrong: int = 0
    offered_right: int = 0
    offered_wrong: int = 0
    abstained: int = 0
    out_answered: int = 0
    out_offered: int = 0
    out_abstained: int = 0

    def add(self, decision: Decision, target: str | None, key: Callable[[Hit], str]) -> None:
        right = target is not None and any(key(h) == target for h in decision.hits)
        if target is None:
            if decision.band is Band.ANSWER:
                self.out_answered += 1
            elif decision.band is Band.OFFER:
                self.out_offered += 1
            else:
                self.out_abstained += 1
        elif decision.band is Band.ANSWER:
            # Answered from every confident passage; right when the best is the right one.
            if key(decision.hits[0]) == target:
                self.answered_right += 1
            else:
                self.answered_wrong += 1
        elif decision.band is Band.OFFER:
            if right:
                self.offered_right += 1
            else:
                self.offered_wrong += 1
        else:
            self.abstained += 1

    @property
    def in_scope(self) -> int:
        return (
            self.answered_right
            + self.answered_wrong
            + self.offered_right
            + self.offered_wrong
            + self.abstained
        )

    @property
    def out_of_scope(self) -> int:
        return self.out_answered + self.out_offered + self.out_abstained

    def resolved(self) -> str:
        n = self.in_scope
        good = self.answered_right + self.offered_right
        return f"{good}/{n} ({good / n:.3f})"

    def wrong(self) -> str:
        return f"{self.answered_wrong}/{self.in_scope} ({self.answered_wrong / self.in_scope:.3f})"

    def abstention(self) -> str:
        n = self.out_of_scope
        return (
            f"{self.out_abstained}/{n} ({self.out_abstained / n:.3f}); answered "
            f"{self.out_answered}, offered choices {self.out_offered}"
        )


def bands_over(
    index: HybridIndex,
    thresholds: Thresholds,
    cases: Sequence[tuple[str, str | None]],
    key: Callable[[Hit], str],
) -> Outcomes:
    """Each query decided as the turn decides (as many hits as it retrieves)."""
    search = searches(index, [q for q, _ in cases])["hybrid"]
    outcomes = Outcomes()
    for query, target in cases:
        outcomes.add(decide(search(query, TurnLimits().passages), thresholds), target, key)
    return outcomes


def _ranks(search: Search, cases: Sequence[tuple[str, str]]) -> tuple[float, float, float]:
    ranks = []
    for query, target in cases:
        found = [hit.entry.question for hit in search(query, 10)]
        ranks.append(found.index(target) + 1 if target in found else None)
    hit1 = sum(r == 1 for r in ranks) / len(ranks)
    hit3 = sum(r is not None and r <= 3 for r in ranks) / len(ranks)
    mrr = sum(1 / r for r in ranks if r) / len(ranks)
    return hit1, hit3, mrr


def covid_quality() -> list[str]:
    faq = read_csv(CORPORA / "covid_qa_faq" / "faq_covidbert.csv")
    pairs = read_csv(CORPORA / "covid_qa_faq" / "eval_question_similarity_en.csv")
    questions = list(dict.fromkeys(row["question"] for row in faq))
    answers = {row["question"]: row["answer"] for row in faq}
    entries = entries_from(questions, [answers[q] for q in questions])
    cases = [
        (row["question_2"], row["question_1"])
        for row in pairs
        if row["similar"] == "1" and row["question_1"] in answers
    ]
    indexes = {"before": before_index(entries), "after": after_index(entries)}
    lines = [
        f"- covid_qa_faq: {len(entries)} entries, {len(cases)} paraphrased questions",
        "",
        "  | retrieval | hit@1 | hit@3 | MRR |",
        "  |---|---|---|---|",
    ]
    for when, index in indexes.items():
        for name, search in searches(index, [q for q, _ in cases]).items():
            if name == "lexical" and when == "after":
                continue  # the same BM25 as before
            hit1, hit3, mrr = _ranks(search, cases)
            label = name if name == "lexical" else f"{name}, {when}"
            lines.append(f"  | {label} | {hit1:.3f} | {hit3:.3f} | {mrr:.3f} |")
    bands = {"before": BEFORE_BANDS, "after": after_bands(indexes["after"])}
    lines += [
        "",
        "  | bands (assistant/bands.py) | thresholds answer / offer | resolved | answered "
        "right | right among choices | answered wrong | abstained |",
        "  |---|---|---|---|---|---|---|",
    ]
    for when, index in indexes.items():
        t = bands[when]
        o = bands_over(index, t, cases, lambda h: h.entry.question)
        lines.append(
            f"  | {when} | {t.answer:.3f} / {t.offer:.3f} | {o.resolved()} | "
            f"{o.answered_right} | {o.offered_right} | {o.wrong()} | {o.abstained} |"
        )
    return lines


def banking77_quality() -> list[str]:
    train = read_csv(CORPORA / "banking77" / "train.csv")
    test = read_csv(CORPORA / "banking77" / "test.csv")
    entries = entries_from([r["text"] for r in train], [r["category"] for r in train])
    queries = [r["text"] for r in test]
    lines = [f"- banking77: {len(entries):,} entries (training sentences), {len(test):,} queries;"]
    accuracy = []
    for when, index in (
        ("before", before_index(entries)),
        ("after", after_index(entries, answers=False)),
    ):
        for name, search in searches(index, queries).items():
            if name == "lexical" and when == "after":
                continue
            correct = sum(
                bool(hits := search(r["text"], 1)) and hits[0].entry.answer == r["category"]
                for r in test
            )
            label = name if name == "lexical" else f"{name} {when}"
            accuracy.append(f"{label} {correct / len(test):.3f}")
    return [lines[0] + " intent of the best entry right: " + ", ".join(accuracy)]


def hint3_bands() -> list[str]:
    """Per bot, on the half of its test queries not used for tuning (`_half` 1). Before: one
    entry per training sentence, issue 5's retrieval, the platform's threshold 0.6. After: the
    bot's FAQ as an organisation would now write it, one entry per intent with its training
    sentences as phrasings, issue 23's retrieval, thresholds calibrated on those entries alone
    (leave-one-out: no test query is used)."""
    lines = [
        "- hint3 (report half of each bot's test queries): out of scope, abstained (answered, "
        "offered choices); in scope, resolved = answered right + right among the choices",
        "",
        "  | bot | method | thresholds answer / offer | out of scope abstained | in scope "
        "resolved | answered right | right among choices | answered wrong |",
        "  |---|---|---|---|---|---|---|---|",
    ]
    for bot in HINT3_BOTS:
        train = read_csv(CORPORA / "hint3_v2" / f"{bot}_train.csv")
        test = read_csv(CORPORA / "hint3_v2" / f"{bot}_test.csv")
        report = [
            (r["sentence"], None if r["label"] == OUT_OF_SCOPE else r["label"])
            for r in test
            if _half(r["sentence"]) == 1
        ]
        sentences = entries_from([r["sentence"] for r in train], [r["label"] for r in train])
        by_intent: dict[str, list[str]] = {}
        for r in train:
            by_intent.setdefault(r["label"], []).append(r["sentence"])
        now = datetime.now(UTC)
        intents = [
            FaqEntry("bench", f"i{i}", texts[0], label, now, phrasings=tuple(texts[1:]))
            for i, (label, texts) in enumerate(by_intent.items())
        ]
        after = after_index(intents, answers=False)
        for when, index, thresholds in (
            ("before", before_index(sentences), BEFORE_BANDS),
            ("after", after, after_bands(after)),
        ):
            o = bands_over(index, thresholds, report, lambda h: h.entry.answer)
            lines.append(
                f"  | {bot} | {when} | {thresholds.answer:.3f} / {thresholds.offer:.3f} | "
                f"{o.abstention()} | {o.resolved()} | {o.answered_right} | {o.offered_right} | "
                f"{o.wrong()} |"
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
    embeddings of the 10,000 repeated with small noise, each entry with an answer vector too
    (embedding 100,000 texts would take minutes and measure the model, not the index). Query
    time includes embedding the query."""
    rng = np.random.default_rng(7)
    texts = [f"{r['text']} ({n})" for n in range(10) for r in train]
    base = shared_minilm().embed([r["text"] for r in train])
    noisy = np.concatenate([base + rng.normal(0, 0.01, base.shape) for _ in range(10)])
    noisy /= np.linalg.norm(noisy, axis=1, keepdims=True)
    answers = noisy[rng.permutation(len(noisy))]
    vectors = list(np.stack([noisy, answers], axis=1).astype(np.float32))
    entries = entries_from(texts, texts)
    matched, answers = split_answers(entries, vectors)
    index = HybridIndex(entries, matched, answers=answers)
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
    lines += ["", *banking77_quality(), *hint3_bands(), *screening_quality()]
    lines += personal_data_screening()
    lines += ["", *await speed()]
    return "\n".join([*lines, ""])
