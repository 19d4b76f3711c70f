"""What a provider is asked and what it streams back."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # a JSON schema for the arguments


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A call the model proposes. `arguments` is the model's raw JSON text: nothing about it is
    trusted until the assistant has validated it."""

    call_id: str
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # role "assistant": the calls it made
    tool_call_id: str | None = None  # role "tool": the call this answers


@dataclass(frozen=True, slots=True)
class Grounding:
    """A retrieved passage, given to the extractive provider as it is (the others read it
    inside the prompt)."""

    ref: str
    title: str
    text: str


@dataclass(frozen=True, slots=True)
class Generation:
    messages: tuple[ChatMessage, ...]
    max_output_tokens: int
    tools: tuple[ToolSpec, ...] = ()
    grounding: tuple[Grounding, ...] = ()
    temperature: float = 0.2
    # The customer's question as asked, for a provider that selects from the passages rather
    # than writes (extractive); the others read it in `messages`.
    question: str = ""
    # Whose turn it is: a model that answers one at a time takes organisations in turn.
    tenant_id: str = ""


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens
        )


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ToolCallsProposed:
    calls: tuple[ToolCall, ...]


@dataclass(frozen=True, slots=True)
class Finished:
    reason: str  # "stop", "length", "tool_calls", ...
    usage: Usage = field(default_factory=Usage)


ProviderEvent = TextDelta | ToolCallsProposed | Finished


def estimate_tokens(text: str) -> int:
    """A cautious token count for budgets checked before a call: a token per three characters,
    where English averages four. What a provider reports afterwards is what is counted."""
    return len(text) // 3 + 1
