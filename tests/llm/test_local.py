"""SmolLM2 in this process, on llama.cpp: the shipped weights, hash-checked, streaming."""

from __future__ import annotations

from pathlib import Path

import pytest

from parlour.llm.local import SMOLLM2, LocalProvider
from parlour.llm.models import ChatMessage, Finished, Generation, TextDelta
from parlour.llm.provider import ProviderFailed


async def test_the_local_model_streams_an_answer_token_by_token() -> None:
    provider = LocalProvider(threads=2)
    generation = Generation(
        (ChatMessage("user", "What is the capital of France? Answer in one word."),),
        max_output_tokens=16,
        temperature=0.0,
    )
    events = [event async for event in provider.stream(generation)]
    await provider.aclose()
    assert isinstance(events[-1], Finished)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert "Paris" in text
    assert events[-1].usage.output_tokens > 0


async def test_stopping_early_frees_the_model_for_the_next_turn() -> None:
    provider = LocalProvider(threads=2)
    generation = Generation(
        (ChatMessage("user", "Count from one to one hundred in words."),), max_output_tokens=200
    )
    stream = provider.stream(generation)
    first = await anext(stream)
    await stream.aclose()  # what a timeout or a blocked answer does
    assert isinstance(first, TextDelta)
    # The model is free again at once: a second turn runs.
    again = [e async for e in provider.stream(Generation(generation.messages, 4))]
    assert isinstance(again[-1], Finished)
    await provider.aclose()


async def test_a_weights_file_that_is_not_a_model_fails_as_unavailable(tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF not really")
    provider = LocalProvider(fake)
    with pytest.raises(ProviderFailed, match="could not be loaded"):
        async for _ in provider.stream(Generation((ChatMessage("user", "hi"),), 4)):
            pass


async def test_any_gguf_chat_model_is_taken_by_path_with_the_chat_template_it_carries() -> None:
    """Issue 23: the operator names a GGUF file; it is prompted with its own chat template (here
    the shipped SmolLM2's ChatML), and named by its file."""
    path = SMOLLM2.locate()  # through package metadata, hash-checked, as any file by path
    provider = LocalProvider(path, threads=2)
    await provider.warm_up()
    assert provider.model == path.stem
    assert provider.chat_template is not None
    assert "<|im_start|>" in provider.chat_template
    generation = Generation(
        (ChatMessage("user", "What is the capital of France? Answer in one word."),),
        max_output_tokens=8,
        temperature=0.0,
    )
    events = [event async for event in provider.stream(generation)]
    await provider.aclose()
    assert "Paris" in "".join(e.text for e in events if isinstance(e, TextDelta))
