"""bench/claims: what the claim check (src/parlour/assistant/claims.py) makes of the local
model's answers (issue 23, item 5). A count of quality, not a timing: SmolLM2-135M on
llama.cpp answers covid_qa_faq paraphrases through the real turn (retrieval, up to k passages,
prompt, model, output filter); per turn its outcome, per sentence of an answer the claim's
verdict (cited, corrected, attributed, uncited, withheld, short), and how many answers reach
the customer with numbered citations.

`BENCH_SAMPLE` (default 20) is the number of questions.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
from collections import Counter

from tests.support.assistants import assistant_with

from bench.answers import Bench, Recording, entry_ids, local_provider, organisation, settings
from bench.retrieval import CORPORA, read_csv
from parlour import metrics
from parlour.assistant.service import TurnLimits
from parlour.services import build_services

SAMPLE = int(os.environ.get("BENCH_SAMPLE", "20"))


def counted() -> Counter[str]:
    """The process's claim verdicts so far, and the references to passages not given."""
    counts: Counter[str] = Counter()
    for counter, label in ((metrics.CLAIMS, "verdict"), (metrics.UNKNOWN_REFERENCES, None)):
        for metric in counter.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    key = sample.labels[label] if label else "unknown references"
                    counts[key] += int(sample.value)
    return counts


async def run() -> str:
    lines = ["### bench/claims", ""]
    if not CORPORA.is_dir():
        return "\n".join([*lines, f"skipped: {CORPORA} is absent", ""])
    local = local_provider()
    try:
        await local.warm_up()
    except Exception as error:
        return "\n".join([*lines, f"skipped: {error}", ""])
    with tempfile.TemporaryDirectory() as folder:
        services = build_services(settings(folder))
        await services.migrate()
        recording = Recording(local)
        limits = TurnLimits(max_output_tokens=120, temperature=0.0)
        assistant = assistant_with(services, recording, limits=limits)
        bench = Bench(services, assistant, recording)
        try:
            faq = read_csv(CORPORA / "covid_qa_faq" / "faq_covidbert.csv")
            rows = list({r["question"]: (r["question"], r["answer"]) for r in faq}.values())
            covid = await organisation(services, "Covid", rows)
            ids = await entry_ids(services, covid)
            pairs = [
                r
                for r in read_csv(CORPORA / "covid_qa_faq" / "eval_question_similarity_en.csv")
                if r["similar"] == "1" and r["question_1"] in ids
            ]
            before = counted()
            numbered = answered = 0
            for pair in random.Random(6).sample(pairs, min(SAMPLE, len(pairs))):  # noqa: S311
                reply = await bench.ask(covid, pair["question_2"])
                answered += reply.outcome == "answered"
                numbered += bool(re.search(r"\[\d{1,3}\]", reply.text))
            claims = counted() - before
        finally:
            await assistant.aclose()
            await services.aclose()
    outcomes = ", ".join(f"{n} {k}" for k, n in bench.outcomes.most_common())
    verdicts = ", ".join(f"{n} {k}" for k, n in claims.most_common()) or "none"
    lines += [
        f"- {SAMPLE} covid_qa_faq paraphrases, SmolLM2-135M-Instruct (llama.cpp, 2 threads, "
        "120 tokens, temperature 0)",
        f"- turns: {outcomes}",
        f"- answers reaching the customer with numbered citations: {numbered} of {answered}",
        f"- their sentences: {verdicts}",
        "",
    ]
    return "\n".join(lines)
