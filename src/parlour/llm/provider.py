"""The Provider interface, and the one error every adapter raises when its model fails."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from parlour.errors import Unavailable
from parlour.llm.models import Generation, ProviderEvent


class ProviderFailed(Unavailable):
    """The model could not be reached, or stopped answering; the message never carries the
    provider's response or credentials."""

    code = "assistant_unavailable"
    default_message = "The assistant's language model is unavailable."


class ProviderBusy(ProviderFailed):
    """The model has as many turns waiting as it may (llm/waiting.py)."""

    code = "assistant_busy"
    default_message = "The assistant's language model has too many questions waiting."


class Provider(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def model(self) -> str: ...

    @property
    def external(self) -> bool:
        """True when prompts leave this deployment (a platform policy may forbid that)."""
        ...

    @property
    def supports_tools(self) -> bool: ...

    @property
    def context_tokens(self) -> int | None:
        """The model's context window, when it is small enough to bound the prompt; None when
        the platform's prompt budget always fits."""
        ...

    @property
    def knowledge_tokens(self) -> int | None:
        """How much retrieved knowledge a prompt may carry for this model, when less than the
        prompt budget: a small local model evaluates every token of it before its first word.
        None: as much as fits."""
        ...

    def stream(self, generation: Generation) -> AsyncIterator[ProviderEvent]:
        """Text deltas and proposed tool calls, then exactly one Finished."""
        ...

    async def aclose(self) -> None: ...
