"""One model run, streamed through the output filter to the widget.

Its own concept because it is the one place where what a model says meets the customer: every
text delta passes the filter before any of it is released, released text goes out in batches
(at most one part per `delta_interval_seconds`), and the tool calls the model proposes are
decided by code, within a depth limit, their results fenced. The turn (assistant/service.py)
decides whether to run a model at all, with which prompt and filter, and what to do with the
outcome: this module only runs it.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from parlour.assistant.output_filter import OutputFilter
from parlour.assistant.prompts import Prompt, fence
from parlour.assistant.tools import Subject, Tool, decide_and_run
from parlour.llm.models import (
    ChatMessage,
    Finished,
    Generation,
    TextDelta,
    ToolCall,
    ToolCallsProposed,
    Usage,
)
from parlour.llm.provider import Provider

MAX_CALLS_PER_ROUND = 4


@dataclass(slots=True)
class ModelRun:
    """What a run has produced: the released text (set when the run completes unblocked) and
    the tokens spent, counted as they are reported, so a run cut short still accounts for them."""

    text: str = ""
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class RunLimits:
    max_output_tokens: int
    max_tool_rounds: int
    temperature: float
    delta_interval_seconds: float


async def run_model(
    run: ModelRun,
    provider: Provider,
    prompt: Prompt,
    filtered: OutputFilter,
    *,
    tools: Sequence[Tool],
    subject: Subject,
    release: Callable[[str], Awaitable[None]],
    limits: RunLimits,
) -> None:
    """Run the model (and the tool calls it proposes, within the depth limit), releasing
    filtered text through `release` in batches as it comes. Returns early, with nothing more
    released, once the filter blocks or finds the answer degenerate."""
    messages = list(prompt.messages)
    released: list[str] = []
    pending: list[str] = []
    last_flush = 0.0

    async def flush() -> None:
        nonlocal last_flush
        if pending:
            await release("".join(pending))
            pending.clear()
            last_flush = time.monotonic()

    for depth in range(limits.max_tool_rounds + 1):
        offered = tuple(t.spec for t in tools) if depth < limits.max_tool_rounds else ()
        generation = Generation(
            tuple(messages),
            max_output_tokens=limits.max_output_tokens,
            tools=offered,
            grounding=prompt.grounding,
            temperature=limits.temperature,
            question=prompt.question,
            tenant_id=subject.tenant_id,
        )
        proposed: tuple[ToolCall, ...] = ()
        async for event in provider.stream(generation):
            if isinstance(event, TextDelta):
                if part := filtered.feed(event.text):
                    released.append(part)
                    pending.append(part)
                    if time.monotonic() - last_flush >= limits.delta_interval_seconds:
                        await flush()
                if filtered.stopped:
                    return
            elif isinstance(event, ToolCallsProposed):
                proposed = event.calls if offered else ()
            elif isinstance(event, Finished):
                run.usage += event.usage
        if not proposed:
            break
        messages.append(ChatMessage("assistant", "", tool_calls=proposed))
        for call in proposed[:MAX_CALLS_PER_ROUND]:
            outcome = await decide_and_run(call, tools, subject)
            if outcome.ran:
                filtered.allow(outcome.result)  # the verified user's own data
            result = fence("tool_result", outcome.result, tool=call.name[:100])
            messages.append(ChatMessage("tool", result, tool_call_id=call.call_id))
    await flush()
    released.append(filtered.finish())
    run.text = "".join(released).strip()
