"""Any OpenAI-compatible chat endpoint (OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp's server),
through the official `openai` SDK, streaming.

The SDK retries a request that failed before any answer came (connection errors, 408, 409, 429,
5xx) with exponential backoff; a stream that breaks part-way is not retried, since its text may
already be on the customer's screen, and fails as ProviderFailed for the assistant to fall back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import openai
from openai import AsyncOpenAI

from parlour.llm.models import (
    ChatMessage,
    Finished,
    Generation,
    ProviderEvent,
    TextDelta,
    ToolCall,
    ToolCallsProposed,
    Usage,
    estimate_tokens,
)
from parlour.llm.provider import ProviderFailed


class OpenAICompatibleProvider:
    name = "openai"
    context_tokens = None
    knowledge_tokens = None
    supports_tools = True

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None,
        timeout_seconds: float,
        max_retries: int,
        external: bool = True,
        streaming: bool = True,
    ) -> None:
        self._model = model
        self._external = external
        # Some gateways in front of a model buffer or refuse server-sent events.
        self._streaming = streaming
        self._client = AsyncOpenAI(
            base_url=base_url,
            # Local servers take no key; the SDK insists on one.
            api_key=api_key or "none",
            timeout=timeout_seconds,
            max_retries=max_retries,
        )

    @property
    def model(self) -> str:
        return self._model

    @property
    def external(self) -> bool:
        return self._external

    async def stream(self, generation: Generation) -> AsyncIterator[ProviderEvent]:
        request: dict[str, Any] = {
            "model": self._model,
            "messages": [_message(m) for m in generation.messages],
            "max_tokens": generation.max_output_tokens,
            "temperature": generation.temperature,
        }
        if generation.tools:
            request["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": tool.parameters,
                    },
                }
                for tool in generation.tools
            ]
        try:
            if self._streaming:
                async for event in self._streamed(request):
                    yield event
            else:
                async for event in self._whole(request):
                    yield event
        except openai.OpenAIError as error:
            # The SDK's message may quote the response; only its type is passed on.
            raise ProviderFailed(
                f"the {self.name} provider failed ({type(error).__name__})"
            ) from error

    async def _streamed(self, request: dict[str, Any]) -> AsyncIterator[ProviderEvent]:
        calls: dict[int, dict[str, str]] = {}
        reason, usage, text = "stop", None, []
        chunks = await self._client.chat.completions.create(
            **request, stream=True, stream_options={"include_usage": True}
        )
        async for chunk in chunks:
            if chunk.usage is not None:
                usage = Usage(chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            if choice.delta.content:
                text.append(choice.delta.content)
                yield TextDelta(choice.delta.content)
            for part in choice.delta.tool_calls or ():
                call = calls.setdefault(part.index, {"id": "", "name": "", "arguments": ""})
                call["id"] = part.id or call["id"]
                if part.function is not None:
                    call["name"] += part.function.name or ""
                    call["arguments"] += part.function.arguments or ""
            reason = choice.finish_reason or reason
        if calls:
            yield ToolCallsProposed(
                tuple(
                    ToolCall(c["id"] or f"call-{i}", c["name"], c["arguments"])
                    for i, c in sorted(calls.items())
                )
            )
        yield Finished(reason, usage or _estimated(request, "".join(text)))

    async def _whole(self, request: dict[str, Any]) -> AsyncIterator[ProviderEvent]:
        completion = await self._client.chat.completions.create(**request, stream=False)
        choice = completion.choices[0]
        text = choice.message.content or ""
        if text:
            yield TextDelta(text)
        calls = tuple(
            ToolCall(call.id, call.function.name, call.function.arguments)
            for call in choice.message.tool_calls or ()
            if call.type == "function"
        )
        if calls:
            yield ToolCallsProposed(calls)
        usage = completion.usage
        yield Finished(
            choice.finish_reason or "stop",
            Usage(usage.prompt_tokens, usage.completion_tokens)
            if usage is not None
            else _estimated(request, text),
        )

    async def aclose(self) -> None:
        await self._client.close()


def _estimated(request: dict[str, Any], output: str) -> Usage:
    """For servers that report no usage (llama.cpp's, when streaming)."""
    prompt = "".join(str(m["content"]) for m in request["messages"])
    return Usage(estimate_tokens(prompt), estimate_tokens(output))


def _message(message: ChatMessage) -> dict[str, Any]:
    shaped: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        shaped["tool_calls"] = [
            {
                "id": call.call_id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments},
            }
            for call in message.tool_calls
        ]
    if message.tool_call_id is not None:
        shaped["tool_call_id"] = message.tool_call_id
    return shaped
