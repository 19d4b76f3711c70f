"""bench/local_load: the local model under load (issue 25, item 4).

Fifty customers ask at once, through the real turn, on the `local` provider (SmolLM2-135M on
llama.cpp, two threads): forty from one organisation and ten from another, covid_qa_faq
questions worded as in the FAQ. The model answers one turn at a time; the others wait in its
line (llm/waiting.py), taken from the organisations in rotation, and a turn beyond the line
answers from its passage at once (`model_busy`). Reported for the default line (8 waiting) and
for one long enough for everyone (49): time to first text p50 and p95 per organisation, and the
turns' outcomes.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter

from tests.support.assistants import assistant_with

from bench.answers import (
    CORPORA,
    Bench,
    Recording,
    Reply,
    local_provider,
    organisation,
    read_csv,
    settings,
)
from bench.harness import percentile
from parlour.assistant.service import TurnLimits
from parlour.services import build_services
from parlour.settings import AssistantSettings

CUSTOMERS = {"A": 40, "B": 10}


def seconds(replies: list[Reply]) -> str:
    times = [r.first_text_seconds for r in replies if r.first_text_seconds is not None]
    if not times:
        return "none"
    return f"p50 {percentile(times, 50):.1f} s, p95 {percentile(times, 95):.1f} s"


async def one_run(waiting: int) -> list[str]:
    local = local_provider(waiting=waiting)
    await local.warm_up()
    with tempfile.TemporaryDirectory() as folder:
        services = build_services(settings(folder))
        await services.migrate()
        recording = Recording(local)
        assistant = assistant_with(
            services, recording, limits=TurnLimits(max_output_tokens=120, temperature=0.0)
        )
        bench = Bench(services, assistant, recording)
        try:
            faq = read_csv(CORPORA / "covid_qa_faq" / "faq_covidbert.csv")
            rows = list({r["question"]: (r["question"], r["answer"]) for r in faq}.values())
            tenants = {name: await organisation(services, name, rows) for name in CUSTOMERS}
            await bench.ask(tenants["A"], rows[0][0])  # load the indexes and the model
            bench.outcomes.clear()
            bench.reasons.clear()
            asked = [(name, rows[i][0]) for name, n in CUSTOMERS.items() for i in range(1, n + 1)]
            replies = await asyncio.gather(*(bench.ask(tenants[n], q) for n, q in asked))
        finally:
            await assistant.aclose()
            await services.aclose()
    by_name: dict[str, list[Reply]] = {name: [] for name in CUSTOMERS}
    for (name, _), reply in zip(asked, replies, strict=True):
        by_name[name].append(reply)
    reasons = Counter(f"{r.outcome} {r.reason or ''}".strip() for r in replies)
    model = [r for r in replies if r.reason != "model_busy"]
    lines = [f"- line of {waiting} waiting: {', '.join(f'{n} {k}' for k, n in reasons.items())}"]
    lines.append(f"  - first text, turns the model took ({len(model)}): {seconds(model)}")
    for name, mine in by_name.items():
        taken = [r for r in mine if r.reason != "model_busy"]
        busy = [r for r in mine if r.reason == "model_busy"]
        lines.append(
            f"  - organisation {name} ({len(mine)} asked): the model's {len(taken)} "
            f"{seconds(taken)}; from the passage at once ({len(busy)}) {seconds(busy)}"
        )
    return lines


async def run() -> str:
    lines = ["### bench/local_load", ""]
    if not CORPORA.is_dir():
        return "\n".join([*lines, f"skipped: {CORPORA} is absent", ""])
    for waiting in (AssistantSettings().local_waiting_turns, sum(CUSTOMERS.values()) - 1):
        lines += await one_run(waiting)
    return "\n".join([*lines, ""])


if __name__ == "__main__":
    print(asyncio.run(run()))
