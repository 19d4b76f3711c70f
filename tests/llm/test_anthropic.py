"""The Anthropic provider, through the official SDK, against a loopback server that speaks the
Messages API's streaming wire format (server-sent events as Anthropic documents them). No
Anthropic endpoint is reachable from these machines, so this is the one provider tested against
a recorded shape rather than the real service; what it checks is our mapping of that format."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from parlour.llm.anthropic import AnthropicProvider
from parlour.llm.models import (
    ChatMessage,
    Finished,
    Generation,
    TextDelta,
    ToolCallsProposed,
    ToolSpec,
)
from parlour.llm.provider import ProviderFailed
from tests.support.servers import ThreadedServer, start_threaded

MESSAGE = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-test",
    "content": [],
    "stop_reason": None,
    "stop_sequence": None,
    "usage": {"input_tokens": 25, "output_tokens": 1},
}


def sse(events: list[dict[str, Any]]) -> Iterator[bytes]:
    for event in events:
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def answer_events(text_parts: list[str], tool: dict[str, Any] | None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [{"type": "message_start", "message": MESSAGE}]
    events.append(
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
    )
    events += [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": t}}
        for t in text_parts
    ]
    events.append({"type": "content_block_stop", "index": 0})
    if tool is not None:
        block = {"type": "tool_use", "id": "toolu_1", "name": tool["name"], "input": {}}
        events.append({"type": "content_block_start", "index": 1, "content_block": block})
        arguments = json.dumps(tool["input"])
        for start in range(0, len(arguments), 7):
            delta = {"type": "input_json_delta", "partial_json": arguments[start : start + 7]}
            events.append({"type": "content_block_delta", "index": 1, "delta": delta})
        events.append({"type": "content_block_stop", "index": 1})
    stop = "tool_use" if tool else "end_turn"
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop, "stop_sequence": None},
            "usage": {"output_tokens": 12},
        }
    )
    events.append({"type": "message_stop"})
    return events


class FakeAnthropic:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    async def messages(self, request: Request) -> Response:
        body = await request.json()
        self.requests.append({"headers": dict(request.headers), "body": body})
        if body["model"] == "overloaded":
            return JSONResponse(
                {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
                status_code=529,
            )
        tool = None
        if body.get("tools"):
            tool = {"name": body["tools"][0]["name"], "input": {"order_ref": "AB12"}}
        events = answer_events(["Paris ", "is the ", "capital."], tool)
        return StreamingResponse(sse(events), media_type="text/event-stream")


@pytest.fixture
def fake() -> Iterator[tuple[FakeAnthropic, ThreadedServer]]:
    api = FakeAnthropic()
    app = Starlette(routes=[Route("/v1/messages", api.messages, methods=["POST"])])
    server = start_threaded(lambda _url: (app, None))
    yield api, server
    server.stop()


def provider(server: ThreadedServer, model: str = "claude-test") -> AnthropicProvider:
    return AnthropicProvider(
        model, api_key="sk-ant-test", base_url=server.url, timeout_seconds=5, max_retries=1
    )


GENERATION = Generation(
    (ChatMessage("system", "Be brief."), ChatMessage("user", "Capital of France?")),
    max_output_tokens=50,
)


async def test_text_streams_and_the_system_prompt_travels_apart(
    fake: tuple[FakeAnthropic, ThreadedServer],
) -> None:
    api, server = fake
    anthropic = provider(server)
    events = [e async for e in anthropic.stream(GENERATION)]
    await anthropic.aclose()
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Paris ", "is the ", "capital."]
    assert events[-1] == Finished("end_turn", events[-1].usage)
    assert (events[-1].usage.input_tokens, events[-1].usage.output_tokens) == (25, 12)
    sent = api.requests[0]
    assert sent["body"]["system"] == "Be brief."
    assert sent["body"]["messages"] == [{"role": "user", "content": "Capital of France?"}]
    # anthropic 2.x sends the key as a bearer token; 0.x sent it as x-api-key.
    headers = sent["headers"]
    assert "sk-ant-test" in (headers.get("x-api-key"), headers.get("authorization", "")[7:])


async def test_a_tool_use_block_becomes_a_proposed_call(
    fake: tuple[FakeAnthropic, ThreadedServer],
) -> None:
    _api, server = fake
    anthropic = provider(server)
    tool = ToolSpec("order_status", "d", {"type": "object", "properties": {}})
    generation = Generation(GENERATION.messages, 50, tools=(tool,))
    events = [e async for e in anthropic.stream(generation)]
    await anthropic.aclose()
    proposed = [e for e in events if isinstance(e, ToolCallsProposed)]
    assert len(proposed) == 1
    (call,) = proposed[0].calls
    assert (call.call_id, call.name, json.loads(call.arguments)) == (
        "toolu_1",
        "order_status",
        {"order_ref": "AB12"},
    )
    assert isinstance(events[-1], Finished)
    assert events[-1].reason == "tool_calls"


async def test_an_overloaded_api_is_retried_then_fails_without_the_key(
    fake: tuple[FakeAnthropic, ThreadedServer],
) -> None:
    api, server = fake
    anthropic = provider(server, model="overloaded")
    with pytest.raises(ProviderFailed) as failed:
        _ = [e async for e in anthropic.stream(GENERATION)]
    await anthropic.aclose()
    assert len(api.requests) == 2  # the first try and one retry
    assert "sk-ant" not in str(failed.value)
