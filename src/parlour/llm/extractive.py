"""The offline default: no model at all. The answer is the best retrieved passage, word for
word, so it can say nothing the organisation's knowledge does not."""

from __future__ import annotations

from collections.abc import AsyncIterator

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
            yield TextDelta(generation.grounding[0].text)
        yield Finished("stop")

    async def aclose(self) -> None:
        return None
