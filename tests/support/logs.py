"""What the process writes to its log, captured as `parlour serve` writes it."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

from parlour import logs


@contextlib.contextmanager
def written(
    level: int = logging.DEBUG, log_format: logs.LogFormat = "json"
) -> Iterator[io.StringIO]:
    """Everything every logger of this process (its server threads included) writes meanwhile,
    set up by the function `parlour serve` sets its logging up with."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level_before = root.level
    handler = logs.configure(level, log_format, stream=buffer)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level_before)


def records(text: str) -> list[dict[str, Any]]:
    """Each line as the JSON object it must be."""
    return [json.loads(line) for line in text.splitlines()]
