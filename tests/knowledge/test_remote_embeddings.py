"""Dense retrieval through a remote OpenAI-compatible embeddings service: here a real
`llama_cpp.server` on loopback, serving SmolLM2's embeddings (one text a request: that server
mixes up the sequences of a batch when its model does no pooling)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from parlour.errors import Unavailable
from parlour.knowledge.remote_embeddings import RemoteEmbedder
from parlour.services import build_services
from parlour.settings import KnowledgeSettings
from tests.conftest import make_settings
from tests.support import seed
from tests.support.llama_server import llama_server
from tests.support.servers import free_socket


@pytest.fixture(scope="module")
def embeddings_url() -> Iterator[str]:
    with llama_server(embedding=True) as url:
        yield url


def test_the_service_gives_one_unit_vector_per_text_in_order(embeddings_url: str) -> None:
    embedder = RemoteEmbedder(embeddings_url, "smollm2", batch_size=1)
    try:
        vectors = embedder.embed(["Where is my card?", "Opening hours", "Where is my card?"])
        assert vectors.shape == (3, embedder.dimension)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        assert np.allclose(vectors[0], vectors[2], atol=1e-4)
        assert not np.allclose(vectors[0], vectors[1], atol=1e-2)
        assert embedder.model_id == "remote:smollm2"
    finally:
        embedder.close()


async def test_knowledge_is_embedded_and_searched_through_the_remote_service(
    embeddings_url: str, tmp_path: Path, sqlite_url: str
) -> None:
    settings = make_settings(tmp_path, database_url=sqlite_url)
    settings = settings.model_copy(
        update={
            "knowledge": KnowledgeSettings(
                embeddings="remote", remote_embeddings_url=embeddings_url
            )
        }
    )
    services = build_services(settings)
    try:
        await services.migrate()
        org = await seed.organisation(services)
        [hit] = await services.knowledge.search(org.tenant_id, "How do I block my card?", limit=1)
        assert hit.entry.question == "How do I block my card?"
        [version] = await services.knowledge.versions(org.tenant_id)
        assert version.published
    finally:
        await services.aclose()


def test_an_unreachable_service_fails_closed_without_leaking_the_key() -> None:
    sock = free_socket()  # bound, never listening: connections are refused
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/v1"
    embedder = RemoteEmbedder(url, "m", api_key="sk-secret-canary-0001", timeout_seconds=2)
    try:
        with pytest.raises(Unavailable) as refused:
            embedder.embed(["hello"])
        assert "sk-secret" not in str(refused.value)
    finally:
        embedder.close()
        sock.close()


def test_remote_embeddings_need_a_url() -> None:
    with pytest.raises(ValidationError, match="remote_embeddings_url"):
        KnowledgeSettings(embeddings="remote")
