"""The shipped embedding model: found through package metadata, hash-checked, and meaningful."""

from __future__ import annotations

import pytest

from parlour.knowledge.embeddings import MINILM_MODEL, MiniLmEmbedder, shared_minilm
from parlour.packaged import ModelUnavailable, PackagedFile


def test_a_paraphrase_is_nearer_than_an_unrelated_question() -> None:
    question, paraphrase, unrelated = shared_minilm().embed(
        ["How do I reset my password?", "I forgot my login secret", "When do you open?"]
    )
    assert question @ paraphrase > question @ unrelated
    assert abs(float(question @ question) - 1.0) < 1e-4  # unit vectors


def test_texts_come_back_in_the_order_given_whatever_their_lengths() -> None:
    texts = ["a much longer sentence about card fees and limits", "hi", "opening hours"]
    together = shared_minilm().embed(texts)
    for text, vector in zip(texts, together, strict=True):
        alone = shared_minilm().embed([text])[0]
        assert float(vector @ alone) > 0.999


def test_a_model_file_with_another_hash_is_refused() -> None:
    """A swapped model would change what every tenant retrieves: it does not load."""
    tampered = PackagedFile(MINILM_MODEL.distribution, MINILM_MODEL.path, "0" * 64)
    with pytest.raises(ModelUnavailable, match="SHA-256"):
        MiniLmEmbedder(model=tampered).embed(["hello"])


def test_a_missing_package_or_file_is_reported_not_downloaded() -> None:
    with pytest.raises(ModelUnavailable, match="not installed"):
        PackagedFile("no-such-distribution", "model.onnx", "0" * 64).locate()
    with pytest.raises(ModelUnavailable, match="is not in"):
        PackagedFile(MINILM_MODEL.distribution, "elsewhere/model.onnx", "0" * 64).locate()
