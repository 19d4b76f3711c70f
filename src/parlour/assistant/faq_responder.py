"""The offline answerer: the organisation's best-matching FAQ entry, cited, or an honest "I don't
know" when no entry is a confident match."""

from __future__ import annotations

from collections.abc import AsyncIterator

from parlour.assistant.responder import Answer, ResponderEvent, TurnRequest
from parlour.chat.models import Citation
from parlour.knowledge.service import KnowledgeService

NO_ANSWER = (
    "I couldn't find an answer to that in our help articles. Would you like to talk to a person?"
)
DEFAULT_MIN_CONFIDENCE = 0.6


class FaqResponder:
    def __init__(
        self, knowledge: KnowledgeService, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE
    ) -> None:
        self._knowledge = knowledge
        self._min_confidence = min_confidence

    async def respond(self, request: TurnRequest) -> AsyncIterator[ResponderEvent]:
        hits = await self._knowledge.search(request.tenant_id, request.question, limit=1)
        if not hits or hits[0].confidence < self._min_confidence:
            yield Answer(text=NO_ANSWER, abstained=True)
            return
        entry = hits[0].entry
        yield Answer(
            text=entry.answer, citations=(Citation(id=entry.entry_id, title=entry.question),)
        )
