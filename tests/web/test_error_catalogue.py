"""The error catalogue: every code Parlour answers with is listed once, with its meaning and its
HTTP status and close code, and docs/errors.md says the same."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.support.errors import loaded_catalogue, rendered_catalogue

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"


def test_each_code_means_one_error() -> None:
    repeated = [
        code for code, count in Counter(e.code for e in loaded_catalogue()).items() if count > 1
    ]
    assert repeated == []


def test_the_documented_catalogue_is_the_one_in_the_code() -> None:
    """Run scripts/error-catalogue after adding or changing an error."""
    assert DOCS.read_text() == rendered_catalogue()


def test_only_failures_of_parlour_itself_answer_500() -> None:
    internal = {e.code for e in loaded_catalogue() if e.http_status == 500}
    assert internal == {"internal_error", "decryption_failed", "unknown_data_key"}
