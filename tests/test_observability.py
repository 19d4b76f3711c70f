"""Security events are log lines nobody can forge or break from the outside."""

from __future__ import annotations

import json
import logging

import pytest

from parlour.observability import security_event


def test_hostile_values_cannot_forge_or_break_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """T-90: line breaks, terminal escapes and quotes in a value stay inside one JSON line."""
    hostile = 'mallory\r\n{"event": "admin.login", "ok": true}\x1b[2J"'
    with caplog.at_level(logging.WARNING, logger="parlour.security"):
        security_event("api_key.refused", key_id=hostile)
    line = caplog.records[-1].getMessage()
    assert "\n" not in line
    assert "\r" not in line
    assert "\x1b" not in line
    assert json.loads(line) == {"event": "api_key.refused", "key_id": hostile}
