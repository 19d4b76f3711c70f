from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class AssistantPolicy:
    """A tenant's assistant settings. None means "the platform's default"."""

    provider: str | None = None
    external_allowed: bool | None = None  # the platform operator's data-residency rule
    enabled: bool = True  # False: the kill switch; every turn goes to a person
    template_version: int | None = None
    # The organisation's own choices: whether the model may call its tools (function calling),
    # and whether its prompts may go to an external provider where the platform allows one.
    tools_enabled: bool = False
    external_consent: bool = True
    # Whether the model is told who the customer is (the name and e-mail in their token).
    personalisation: bool = False


@dataclass(frozen=True, slots=True)
class TemplateVersion:
    version: int
    body: str
    sha256: str
    created_by: str
    created_at: datetime
    live: bool = False


class Outcome(StrEnum):
    ANSWERED = "answered"
    ABSTAINED = "abstained"  # no confident knowledge: a person was offered
    # Unsure between a few entries: they were offered as choices, and a person (assistant/bands)
    OFFERED = "offered"
    BLOCKED = "blocked"  # the output filter stopped the answer (canary, unsupported, a request)
    FALLBACK = "fallback"  # the chosen model failed; the extractive answer or a person instead
    REFUSED = "refused"  # a budget, the kill switch or the provider policy stopped the turn


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """What one answer was made from (provenance), and what it cost."""

    tenant_id: str
    message_id: str
    conversation_id: str
    outcome: Outcome
    provider: str
    model: str
    template_version: int | None
    knowledge_version: int | None
    created_at: datetime
    chunk_ids: tuple[str, ...] = field(default=())
    input_tokens: int = 0
    output_tokens: int = 0
    # Why: the fallback's cause (model_timed_out, model_failed, …), the filter's block
    # (canary_in_answer, credential_request, …), the refusal's; None for a plain answer.
    reason: str | None = None
    question_id: str | None = None  # the customer's message it answered (None: before 0036)


@dataclass(frozen=True, slots=True)
class OutcomeCount:
    """How many of an organisation's turns ended one way, for one reason, in a period."""

    outcome: Outcome
    reason: str | None
    turns: int
