"""What reports count: a closed vocabulary of figures, each with a bounded detail."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Figure(StrEnum):
    """A figure counted per organisation and hour. Its detail (a closed set per figure, or a
    passage's id) says which kind; "" where a figure has none."""

    CONVERSATIONS_STARTED = "conversations.started"
    MESSAGES = "messages"  # detail: the author (user, assistant, agent)
    TURNS = "assistant.turns"  # detail: the outcome (answered, abstained, blocked, …)
    TURN_REASONS = "assistant.reasons"  # detail: why a turn ended so (model_timed_out, …)
    INPUT_TOKENS = "assistant.input_tokens"
    OUTPUT_TOKENS = "assistant.output_tokens"
    CITATIONS = "assistant.citations"  # detail: the cited entry's id
    # Security monitoring: what an organisation's alerts watch (issue 21, T-106).
    FOREIGN_ORIGINS = "security.foreign_origin"  # handshakes refused for an origin not allowed
    TOKEN_FAILURES = "security.token_failure"  # noqa: S105 (a name) detail: the reason
    RATE_LIMITED = "security.rate_limited"  # detail: the limit
    QUARANTINED_UPLOADS = "security.quarantined_upload"
    BLOCKED_ANSWERS = "security.blocked_answer"  # detail: the filter's reason
    WITHHELD_TOOLS = "security.withheld_tool"
    WEBHOOK_FAILURES = "security.webhook_failure"


# A detail longer than this is cut: every detail is a code's constant or an id.
DETAIL_CHARS = 64


@dataclass(frozen=True, slots=True)
class Count:
    """How much of a figure, of one detail, an organisation had in one hour (UTC)."""

    tenant_id: str
    figure: Figure
    detail: str
    hour: datetime
    value: int
