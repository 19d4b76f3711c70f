"""Embeddings from a remote service that speaks OpenAI's `/v1/embeddings`: OpenAI, Azure OpenAI,
vLLM, Ollama, a llama.cpp server.

Choosing it sends every uploaded passage and every customer question to that service, so it is
an operator's decision (data residency), made in configuration. Its answers are checked rather
than trusted: one vector per text, all of one length, finite and not zero; a service that fails
or answers otherwise makes the search fail closed (`Unavailable`), and never leaks its response
or the key into errors or logs.
"""

from __future__ import annotations

import threading

import httpx
import numpy as np

from parlour.errors import Unavailable
from parlour.knowledge.embeddings import Vectors


class RemoteEmbedder:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        timeout_seconds: float = 10.0,
        batch_size: int = 64,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers=headers,
            timeout=timeout_seconds,
            follow_redirects=False,
        )
        self._model = model
        self._batch_size = batch_size
        self._dimension: int | None = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"remote:{self._model}"

    @property
    def measured(self) -> bool:
        return False  # an operator's model: how its vectors rank entries is unknown here

    @property
    def dimension(self) -> int:
        """Learnt from the service's first answer (asked for, if nothing was embedded yet)."""
        if self._dimension is None:
            self.embed(["dimension"])
        assert self._dimension is not None
        return self._dimension

    def embed(self, texts: list[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self._dimension or 0), dtype=np.float32)
        size = self._batch_size
        batches = [self._embed_batch(texts[i : i + size]) for i in range(0, len(texts), size)]
        return np.concatenate(batches)

    def _embed_batch(self, texts: list[str]) -> Vectors:
        try:
            response = self._client.post("embeddings", json={"model": self._model, "input": texts})
            response.raise_for_status()
            data = response.json()["data"]
            ordered = sorted(data, key=lambda item: item["index"])
            vectors = np.stack([_pooled(item["embedding"]) for item in ordered])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:  # shape and JSON too
            raise Unavailable(f"the embeddings service failed ({type(exc).__name__})") from None
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise Unavailable("the embeddings service answered with the wrong number of vectors")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if not np.all(np.isfinite(vectors)) or np.any(norms == 0):
            raise Unavailable("the embeddings service answered with unusable vectors")
        with self._lock:
            if self._dimension is None:
                self._dimension = vectors.shape[1]
            elif vectors.shape[1] != self._dimension:
                raise Unavailable("the embeddings service changed its vector length")
        result: Vectors = vectors / norms
        return result

    def close(self) -> None:
        self._client.close()


def _pooled(embedding: object) -> Vectors:
    """A text's vector. A llama.cpp server serving a generative model (no pooling of its own)
    answers with one vector per token: those are averaged, as sentence encoders do. (Such a
    server mixes up the sequences of a batch, llama-cpp-python 0.3.36: give it batches of 1.)"""
    vector = np.asarray(embedding, dtype=np.float32)
    if vector.ndim == 2 and len(vector):
        pooled: Vectors = vector.mean(axis=0)
        return pooled
    if vector.ndim != 1:
        raise ValueError("an embedding is a list of numbers")
    return vector
