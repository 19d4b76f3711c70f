"""The offline default: no model at all. The answer is the best retrieved passage, word for
word, so it can say nothing the organisation's knowledge does not: the whole passage, or, when
it is long, its sentences that answer the question (llm/excerpts.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from parlour.llm.excerpts import excerpt
from parlour.llm.models import Finished, Generation, ProviderEvent, TextDelta


class ExtractiveProvider:
    name = "extractive"
    model = "extractive"
    external = False
    context_tokens = None
    knowledge_tokens = None
    supports_tools = False

    async def stream(self, generation: Generation) -> AsyncIterator[ProviderEvent]:
        if generation.grounding:
            yield TextDelta(excerpt(generation.question, generation.grounding[0].text))
        yield Finished("stop")

    async def aclose(self) -> None:
        return None
