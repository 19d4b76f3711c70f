"""Secrets and bodies the tests create, and every log line the run produces, so that the run can
prove that none of the former ever appears in the latter (T-27, T-89)."""

from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
CANARIES: set[str] = set()
LOG_LINES: list[str] = []


def register(value: str) -> str:
    """Remember `value` as something no log may contain; returns it for inline use."""
    if len(value) >= 12:
        with _lock:
            CANARIES.add(value)
    return value


def record_output(text: str) -> None:
    """Output of a child process (`parlour serve`), which logs outside this process."""
    with _lock:
        LOG_LINES.extend(text.splitlines())


class CapturingHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        line = self.format(record)
        with _lock:
            LOG_LINES.append(line)


def leaks() -> list[str]:
    with _lock:
        return sorted(
            f"{canary[:10]}… in: {line[:120]}"
            for canary in CANARIES
            for line in LOG_LINES
            if canary in line
        )
