"""Assistants over a test's services with a chosen model and tools, and scripted models that
stand for a misbehaving LLM: one that recites its instructions, one that says what it is told,
one that proposes tool calls, one that never answers.
They script only the model's words; everything the assistant does with them is the real code."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from parlour.assistant.budgets import Budgets
from parlour.assistant.providers import Providers
from parlour.assistant.service import AssistantService, TurnLimits
from parlour.assistant.tools import NoTools, Subject, Tool, ToolSource
from parlour.chat.models import Message
from parlour.llm.models import (
    Finished,
    Generation,
    ProviderEvent,
    TextDelta,
    ToolCall,
    ToolCallsProposed,
    Usage,
)
from parlour.llm.provider import Provider
from parlour.rate_limits import RateLimits
from parlour.services import Services
from tests.support import seed

UNLIMITED = {
    "tokens_per_conversation": "1000000000/day",
    "tokens_per_end_user": "1000000000/day",
    "tokens_per_tenant": "1000000000/day",
}


def assistant_with(
    services: Services,
    provider: Provider,
    *,
    tools: Sequence[Tool] = (),
    source: ToolSource | None = None,
    budgets: dict[str, str] | None = None,
    limits: TurnLimits | None = None,
) -> AssistantService:
    source = source or (FixedTools(tools) if tools else NoTools())
    return AssistantService(
        services.db,
        services.chat,
        services.knowledge,
        services.tenants,
        services.assistant.configuration,
        Providers({provider.name: provider}, default=provider.name, external_by_default=True),
        Budgets(RateLimits(budgets or UNLIMITED)),
        source,
        canary_key=secrets.token_bytes(32),
        limits=limits or TurnLimits(),
        tally=services.tally,
    )


@dataclass
class FixedTools:
    listed: Sequence[Tool]

    async def tools(self, tenant_id: str) -> Sequence[Tool]:
        return self.listed


async def ask(
    services: Services,
    assistant: AssistantService,
    org: seed.Organisation,
    text: str,
    *,
    user: str = "u1",
    traits: dict[str, str] | None = None,
) -> Message | None:
    conversation = await services.chat.open_conversation(org.tenant_id, user)
    appended = await services.chat.post_user_message(
        org.tenant_id, conversation.conversation_id, client_id=secrets.token_hex(8), text=text
    )
    return await assistant.answer(appended.message, Subject(org.tenant_id, user, traits or {}))


@dataclass(kw_only=True)
class ScriptedModel:
    """What every provider states about itself; the scripted models differ in what they write."""

    name: str = "scripted"
    model: str = "scripted-1"
    external: bool = False
    supports_tools: bool = False
    context_tokens: int | None = None
    knowledge_tokens: int | None = None
    seen: list[Generation] = field(default_factory=list)

    async def aclose(self) -> None:
        return None


@dataclass
class RecitingModel(ScriptedModel):
    """A model that does what a successful extraction attack makes it do: repeat its system
    prompt."""

    everything: bool = False  # every message it was given, not just the system prompt

    async def stream(self, generation: Generation) -> AsyncIterator[ProviderEvent]:
        self.seen.append(generation)
        given = generation.messages if self.everything else generation.messages[:1]
        text = "\n".join(message.content for message in given)
        for start in range(0, len(text), 40):
            yield TextDelta(text[start : start + 40])
        yield Finished("stop", Usage(100, 100))


@dataclass
class SayingModel(ScriptedModel):
    """A model that writes `text`, a few characters at a time: what a hijack makes a model say,
    or an answer in its own words."""

    text: str

    async def stream(self, generation: Generation) -> AsyncIterator[ProviderEvent]:
        self.seen.append(generation)
        for start in range(0, len(self.text), 5):
            yield TextDelta(self.text[start : start + 5])
        yield Finished("stop", Usage(100, 20))


@dataclass
class ToolCallingModel(ScriptedModel):
    """A model that proposes the given calls, round after round, then says `final`."""

    calls: Sequence[ToolCall]
    rounds: int = 1
    final: str = "We are open Monday to Friday [k1]."  # from the seeded FAQ
    supports_tools: bool = field(default=True, kw_only=True)

    async def stream(self, generation: Generation) -> AsyncIterator[ProviderEvent]:
        self.seen.append(generation)
        if generation.tools and len(self.seen) <= self.rounds:
            yield ToolCallsProposed(tuple(self.calls))
            yield Finished("tool_calls", Usage(10, 5))
            return
        yield TextDelta(self.final)
        yield Finished("stop", Usage(10, 5))


@dataclass
class StallingModel(ScriptedModel):
    """A model that never writes a word: what a local model still reading its prompt looks like
    to a turn whose timeout runs out."""

    async def stream(self, generation: Generation) -> AsyncIterator[ProviderEvent]:
        self.seen.append(generation)
        await asyncio.Event().wait()  # ended by the turn's timeout
        yield Finished("stop")


@dataclass
class CitingModel(ScriptedModel):
    """A model that combines passages: it writes each sentence followed by a reference to the
    passage given it under that title (a reference as written when the title is not among
    them, e.g. "k9"; none for None), a few characters at a time."""

    sentences: Sequence[tuple[str, str | None]]

    async def stream(self, generation: Generation) -> AsyncIterator[ProviderEvent]:
        self.seen.append(generation)
        refs = {g.title: g.ref for g in generation.grounding}
        text = " ".join(
            sentence if cite is None else f"{sentence} [{refs.get(cite, cite)}]"
            for sentence, cite in self.sentences
        )
        for start in range(0, len(text), 5):
            yield TextDelta(text[start : start + 5])
        yield Finished("stop", Usage(100, 20))
