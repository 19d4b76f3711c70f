"""The OpenAI-compatible provider against a real server: `python -m llama_cpp.server` serving
SmolLM2-135M on loopback, streaming and not."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parlour.llm.models import ChatMessage, Finished, Generation, ProviderEvent, TextDelta
from parlour.llm.openai_compatible import OpenAICompatibleProvider
from parlour.llm.provider import ProviderFailed
from tests.support.llama_server import llama_server
from tests.support.servers import free_socket

ASK = Generation(
    (
        ChatMessage("system", "You are a helpful assistant. Answer in one short sentence."),
        ChatMessage("user", "What is the capital of France?"),
    ),
    max_output_tokens=24,
    temperature=0.0,
)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with llama_server(embedding=False) as url:
        yield url


async def collect(provider: OpenAICompatibleProvider) -> list[ProviderEvent]:
    try:
        return [event async for event in provider.stream(ASK)]
    finally:
        await provider.aclose()


@pytest.mark.parametrize("streaming", [True, False])
async def test_the_answer_arrives_as_text_then_one_finish_with_usage(
    server_url: str, streaming: bool
) -> None:
    provider = OpenAICompatibleProvider(
        server_url, "smollm2", api_key=None, timeout_seconds=60, max_retries=0, streaming=streaming
    )
    events = await collect(provider)
    deltas = [e for e in events if isinstance(e, TextDelta)]
    assert isinstance(events[-1], Finished)
    assert sum(isinstance(e, Finished) for e in events) == 1
    text = "".join(d.text for d in deltas)
    assert "Paris" in text
    assert events[-1].usage.output_tokens > 0
    assert events[-1].usage.input_tokens > 0
    if streaming:
        assert len(deltas) > 1  # token by token, not the whole answer at the end


async def test_streamed_and_whole_answers_agree_at_temperature_zero(server_url: str) -> None:
    texts = []
    for streaming in (True, False):
        provider = OpenAICompatibleProvider(
            server_url, "m", api_key=None, timeout_seconds=60, max_retries=0, streaming=streaming
        )
        texts.append("".join(e.text for e in await collect(provider) if isinstance(e, TextDelta)))
    assert texts[0] == texts[1]


async def test_an_unreachable_endpoint_fails_without_naming_the_key_or_url() -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    provider = OpenAICompatibleProvider(
        f"http://127.0.0.1:{port}/v1",
        "m",
        api_key="sk-secretsecretsecretsecret",
        timeout_seconds=2,
        max_retries=2,
    )
    with pytest.raises(ProviderFailed) as failed:
        await collect(provider)
    assert str(failed.value) == "the openai provider failed (APIConnectionError)"
