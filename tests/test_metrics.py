"""The process's metrics: several processes of a node summed in one scrape, and labels that never
carry free text."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from parlour import metrics

# A process of the node: it counts, and the first also opens two sockets and then exits cleanly
# (its live gauge leaves the sums); the second keeps one socket open as it dies.
CHILD = """
from parlour import metrics
for _ in range({messages}):
    metrics.message_stored("user", "tenant")
for _ in range({sockets}):
    metrics.OPEN_SOCKETS.inc()
if {exits_cleanly}:
    metrics.process_exited()
"""


def run_child(directory: Path, *, messages: int, sockets: int, exits_cleanly: bool) -> None:
    env = {**os.environ, metrics.MULTIPROC_DIR_VARIABLE: str(directory)}
    code = CHILD.format(messages=messages, sockets=sockets, exits_cleanly=exits_cleanly)
    finished = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, timeout=60, check=False
    )
    assert finished.returncode == 0, finished.stderr.decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_two_processes_sharing_a_multiprocess_directory_are_summed_in_one_scrape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_child(tmp_path, messages=1, sockets=2, exits_cleanly=True)
    run_child(tmp_path, messages=2, sockets=1, exits_cleanly=False)
    monkeypatch.setenv(metrics.MULTIPROC_DIR_VARIABLE, str(tmp_path))

    scraped = samples(metrics.exposition().decode())

    messages = (("author", "user"), ("direction", "in"), ("tenant", ""))
    assert scraped[("parlour_chat_messages_total", messages)] == 3
    # livesum: the process that exited cleanly no longer counts its sockets.
    assert scraped[("parlour_chat_open_sockets", ())] == 1


def test_without_a_multiprocess_directory_the_scrape_is_this_process_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(metrics.MULTIPROC_DIR_VARIABLE, raising=False)
    before = samples(metrics.exposition().decode())
    metrics.refused("http", "not_found")
    after = samples(metrics.exposition().decode())

    key = ("parlour_refusals_total", (("code", "not_found"), ("transport", "http")))
    assert after[key] == before.get(key, 0) + 1


@pytest.mark.parametrize(
    "value",
    ["Where is my parcel?", "customer-42@example.com", "Acme Ltd", "NOT_A_CODE", "a" * 65, ""],
)
def test_a_label_value_that_is_not_a_code_constant_is_counted_as_other(value: str) -> None:
    """T-104: whatever a caller passes, a label carries no free text."""
    assert metrics.code(value) == metrics.OTHER


def test_the_tenant_label_is_empty_unless_configured_and_then_a_tenant_id_only() -> None:
    """T-104."""
    tenant_id = str(uuid.uuid4())
    try:
        metrics.configure(tenant_label=False)
        metrics.turn_finished(
            tenant_id=tenant_id,
            outcome="answered",
            reason=None,
            provider="extractive",
            input_tokens=0,
            output_tokens=0,
            seconds=0.01,
        )
        metrics.configure(tenant_label=True)
        metrics.message_stored("assistant", tenant_id)
        metrics.message_stored("assistant", "Acme Ltd")
    finally:
        metrics.configure(tenant_label=False)
    scraped = samples(metrics.exposition().decode())

    turns = (("outcome", "answered"), ("reason", "none"), ("tenant", ""))
    assert scraped[("parlour_assistant_turns_total", turns)] >= 1
    tenants = {
        dict(labels)["tenant"]
        for name, labels in scraped
        if name == "parlour_chat_messages_total" and dict(labels)["author"] == "assistant"
    }
    assert {tenant_id, metrics.OTHER} <= tenants
    assert "Acme Ltd" not in tenants
