"""Anthropic's Messages API through the official `anthropic` SDK, streaming.

System instructions travel in the request's `system` field, not as a message; tool results go
back as `tool_result` blocks in a user turn. Retries and failures follow the OpenAI adapter's
rules (retried before the first token, ProviderFailed after).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anthropic
from anthropic import AsyncAnthropic

from parlour.llm.models import (
    ChatMessage,
    Finished,
    Generation,
    ProviderEvent,
    TextDelta,
    ToolCall,
    ToolCallsProposed,
    Usage,
)
from parlour.llm.provider import ProviderFailed


class AnthropicProvider:
    name = "anthropic"
    external = True
    context_tokens = None
    knowledge_tokens = None
    supports_tools = True

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None,
        base_url: str | None,
        timeout_seconds: float,
        max_retries: int,
    ) -> None:
        self._model = model
        self._client = AsyncAnthropic(
            api_key=api_key, base_url=base_url, timeout=timeout_seconds, max_retries=max_retries
        )

    @property
    def model(self) -> str:
        return self._model

    async def stream(self, generation: Generation) -> AsyncIterator[ProviderEvent]:
        system = "\n\n".join(m.content for m in generation.messages if m.role == "system")
        # No temperature: the Messages API of anthropic 2.x takes no sampling parameters.
        request: dict[str, Any] = {
            "model": self._model,
            "max_tokens": generation.max_output_tokens,
            "messages": _messages(generation.messages),
        }
        if system:
            request["system"] = system
        if generation.tools:
            request["tools"] = [
                {"name": t.name, "description": t.description, "input_schema": t.parameters}
                for t in generation.tools
            ]
        try:
            async with self._client.messages.stream(**request) as stream:
                async for text in stream.text_stream:
                    yield TextDelta(text)
                final = await stream.get_final_message()
        except anthropic.AnthropicError as error:
            raise ProviderFailed(
                f"the {self.name} provider failed ({type(error).__name__})"
            ) from error
        calls = tuple(
            ToolCall(block.id, block.name, json.dumps(block.input))
            for block in final.content
            if block.type == "tool_use"
        )
        if calls:
            yield ToolCallsProposed(calls)
        yield Finished(
            "tool_calls" if calls else (final.stop_reason or "stop"),
            Usage(final.usage.input_tokens, final.usage.output_tokens),
        )

    async def aclose(self) -> None:
        await self._client.close()


def _messages(messages: tuple[ChatMessage, ...]) -> list[dict[str, Any]]:
    shaped: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue
        if message.role == "tool":
            block = {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.content,
            }
            shaped.append({"role": "user", "content": [block]})
        elif message.tool_calls:
            blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}] * bool(
                message.content
            )
            blocks += [
                {
                    "type": "tool_use",
                    "id": call.call_id,
                    "name": call.name,
                    "input": json.loads(call.arguments or "{}"),
                }
                for call in message.tool_calls
            ]
            shaped.append({"role": "assistant", "content": blocks})
        else:
            shaped.append({"role": message.role, "content": message.content})
    return shaped
