"""bench/first_turn: how long the local model's turns take, the first one above all (issue 19),
to choose `assistant.generation_timeout_seconds`.

Each run builds the services afresh with the `local` provider (SmolLM2-135M-Instruct on
llama.cpp, the default settings: 2 threads, 400 output tokens at most, 120 tokens of
knowledge), so the first question also loads the weights, as the first question after
`parlour serve` does. The generation timeout is lifted to 600 s so that nothing is cut short.
Reported per run: the whole first turn, its first delta, its output tokens and rate, then a
second turn; the time a full-length (400-token) first answer would take at that rate; and the
load average, since the point is a busy two-core machine. SmolLM2's answers vary in length
from run to run (a few dozen tokens to the full 400), hence the projection. `BENCH_RUNS`
(default 3); `BENCH_BUSY=1` keeps one CPU-bound process per core running meanwhile, as a busy
machine would (other work at the same priority).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

from parlour.assistant.tools import Subject
from parlour.audit.events import Actor
from parlour.chat.models import AnswerStreaming, ConversationEvent
from parlour.services import Services, build_services
from parlour.settings import Settings

FAQ = b"""question,answer
How do I order a new debit card?,"Open the app and tap Cards. Choose Order a new card, confirm \
your address, and pick a design. The card arrives by post in five working days; activate it in \
the app before the first payment, and your old card stops working then."
What are your opening hours?,"We are open Monday to Friday, 9:00 to 17:00."
"""
QUESTIONS = ("How do I order a new debit card?", "When are you open?")
MAX_OUTPUT_TOKENS = 400  # the default assistant.max_output_tokens


@contextlib.contextmanager
def _busy(enabled: bool) -> Iterator[None]:
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range((os.cpu_count() or 1) if enabled else 0)
    ]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


async def _turn(services: Services, tenant_id: str, question: str) -> tuple[str, float]:
    conversation = await services.chat.open_conversation(tenant_id, "bench-user")
    first: list[float] = []

    def seen(event: ConversationEvent) -> None:
        if isinstance(event, AnswerStreaming) and not first:
            first.append(time.perf_counter())

    stop = await services.broker.listen(tenant_id, conversation.conversation_id, seen)
    started = time.perf_counter()
    posted = await services.chat.post_user_message(
        tenant_id, conversation.conversation_id, client_id=secrets.token_hex(8), text=question
    )
    answer = await services.assistant.answer(posted.message, Subject(tenant_id, "bench-user", {}))
    total = time.perf_counter() - started
    stop()
    assert answer is not None
    record = await services.assistant.turn_record(tenant_id, answer.message_id)
    assert record is not None
    delta = f"{first[0] - started:.1f} s" if first else "none"
    writing = total - (first[0] - started) if first else 0.0
    rate = record.output_tokens / writing if writing > 0 and record.output_tokens > 1 else 0.0
    projected = (first[0] - started) + MAX_OUTPUT_TOKENS / rate if rate and first else 0.0
    outcome = f"{record.outcome.value}{f' {record.reason}' if record.reason else ''}"
    return (
        f"{total:.1f} s (first delta {delta}, {record.output_tokens} tokens out at "
        f"{rate:.1f}/s, {outcome})"
    ), projected


async def run() -> str:
    lines = ["### bench/first_turn", ""]
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return "\n".join([*lines, "skipped: llama-cpp-python is not installed", ""])
    busy = os.environ.get("BENCH_BUSY") == "1"
    if busy:
        lines.append(f"(with {os.cpu_count()} CPU-bound processes running meanwhile)")
    for number in range(1, int(os.environ.get("BENCH_RUNS", "3")) + 1):
        with tempfile.TemporaryDirectory() as folder:
            key = base64.b64encode(secrets.token_bytes(32)).decode()
            settings = Settings(
                environment="test",
                data_dir=folder,
                crypto={"master_key": key},
                assistant={"provider": "local", "generation_timeout_seconds": 600},
            )
            services = build_services(settings)
            try:
                await services.migrate()
                actor = Actor.system("bench")
                tenant = await services.tenants.create("Bench bank", [], actor=actor)
                await services.knowledge.import_faq_csv(tenant.tenant_id, FAQ, actor=actor)
                with _busy(busy):
                    turns = [await _turn(services, tenant.tenant_id, q) for q in QUESTIONS]
            finally:
                await services.aclose()
        full = f"{turns[0][1]:.0f} s" if turns[0][1] else "n/a"
        lines.append(
            f"- run {number}: first turn {turns[0][0]}; a 400-token first answer at that rate: "
            f"{full}; second turn {turns[1][0]}; load average {os.getloadavg()[0]:.1f} on "
            f"{os.cpu_count()} cores"
        )
    return "\n".join([*lines, ""])
