"""The Responder interface: every answerer (FAQ today, LLM providers next) streams events for one
turn, and the last event is always the complete Answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from parlour.chat.models import Citation


@dataclass(frozen=True, slots=True)
class TurnRequest:
    tenant_id: str
    conversation_id: str
    end_user_id: str
    question: str


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    """Part of an answer while it is produced; the final Answer repeats the whole text."""

    text: str


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    citations: tuple[Citation, ...] = ()
    # True when the responder could not ground an answer in the organisation's knowledge.
    abstained: bool = False


ResponderEvent = AnswerDelta | Answer


class Responder(Protocol):
    def respond(self, request: TurnRequest) -> AsyncIterator[ResponderEvent]: ...
