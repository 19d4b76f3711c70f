"""How an assistant turn ends: the draft it builds as it goes, and the fixed replies it can
settle on instead of an answer.

Its own concept because every way out of a turn meets here: an answer, or one of the fixed
replies below with the offer of a person and a reason (the turn record's, counted for the
administrator). The turn (assistant/service.py) decides which; the draft carries the result to
the stored message (text, trusted citations, the handoff action) and to the turn's record.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from parlour.assistant.models import Outcome
from parlour.chat.models import Choice, Citation
from parlour.knowledge.embeddings import Vectors
from parlour.knowledge.models import Hit
from parlour.llm.models import Grounding, Usage
from parlour.llm.provider import Provider

HANDOFF_ACTION = "handoff"
NO_ANSWER = (
    "I couldn't find an answer to that in our help articles. Would you like to talk to a person?"
)
UNAVAILABLE = "Sorry, I can't answer right now. Would you like to talk to a person?"
ASSISTANT_OFF = "Our assistant is not available at the moment. Would you like to talk to a person?"
OUT_OF_BUDGET = "I can't answer more questions right now. Would you like to talk to a person?"
BLOCKED = "Sorry, I can't help with that. Would you like to talk to a person?"
OFFER = "I'm not sure which of these you mean. Did you mean one of them?"
# The reason of a turn that answered from the entry its customer picked among an offer's.
CHOSEN = "chosen"


class FallbackReason:
    """Why a turn fell back (the turn record's reason; an administrator sees them counted)."""

    MODEL_TIMED_OUT = "model_timed_out"  # past assistant.generation_timeout_seconds
    MODEL_FAILED = "model_failed"  # the provider could not be reached, or failed
    MODEL_BUSY = "model_busy"  # the local model had as many turns waiting as it may
    EMPTY_ANSWER = "empty_answer"  # nothing was left to say
    # The model looped, echoed the question or said nothing with content (assistant/degenerate)
    DEGENERATE = "degenerate"
    TURN_FAILED = "turn_failed"  # a fault in the turn itself


@dataclass(slots=True)
class Draft:
    """What a turn has produced so far."""

    provider: Provider
    tools_enabled: bool = False  # the organisation turned function calling on
    outcome: Outcome = Outcome.ANSWERED
    text: str = ""
    handoff: bool = False
    grounding: tuple[Grounding, ...] = ()
    hits: dict[str, Hit] = field(default_factory=dict)
    cited: list[str] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    template_version: int | None = None
    reason: str | None = None  # why the outcome is not a plain answer, for the turn's record
    question_vector: Vectors | None = None  # retrieval's embedding of the question, if any
    offered: tuple[str, ...] = ()  # an offer's references into `hits`, best first
    question_id: str | None = None  # the customer's message the turn answers

    def offer(self, hits: tuple[Hit, ...]) -> None:
        """End the turn offering these entries as choices ("Did you mean …?"), each by an
        opaque reference ("1", "2", …), and a person for "None of these"."""
        self.settle(Outcome.OFFERED, OFFER)
        self.hits = {str(i): hit for i, hit in enumerate(hits, start=1)}
        self.offered = tuple(self.hits)

    @property
    def choices(self) -> tuple[Choice, ...]:
        """An offer's entries, by reference, their questions as titles."""
        return tuple(Choice(ref, self.hits[ref].entry.question) for ref in self.offered)

    def settle(
        self, outcome: Outcome, text: str, *, reason: str | None = None, handoff: bool = True
    ) -> None:
        """End the turn with a fixed reply (and, by default, the offer of a person)."""
        self.outcome, self.text, self.handoff, self.reason = outcome, text, handoff, reason
        if handoff:
            self.cited = []

    @property
    def actions(self) -> tuple[str, ...]:
        return (HANDOFF_ACTION,) if self.handoff else ()

    @property
    def citations(self) -> tuple[Citation, ...]:
        """The passages the answer cites, from the turn's own hits (never the model's words)."""
        return tuple(
            Citation(self.hits[ref].entry.entry_id, self.hits[ref].entry.question)
            for ref in self.cited
            if ref in self.hits
        )

    @property
    def cited_entry_ids(self) -> tuple[str, ...]:
        """The entries the answer cites; an offer's: the entries offered, in order (a pick
        names one of them by its place)."""
        refs = self.offered or self.cited
        return tuple(self.hits[r].entry.entry_id for r in refs if r in self.hits)
