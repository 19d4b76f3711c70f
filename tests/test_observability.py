"""Security events are structured records nobody can forge or break from the outside."""

from __future__ import annotations

import io
import json
import logging

import pytest

from parlour import logs
from parlour.observability import event_fields, security_event


def test_a_security_event_is_one_record_with_its_fields_as_keys(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="parlour.security"):
        security_event("api_key.refused", reason="unauthenticated", key_id="k-1", ip=None)
    (record,) = [r for r in caplog.records if r.name == "parlour.security"]
    assert record.getMessage() == "api_key.refused"
    assert event_fields(record) == {
        "event": "api_key.refused",
        "reason": "unauthenticated",
        "key_id": "k-1",
        "ip": None,
    }


def test_hostile_values_cannot_forge_or_break_a_log_line() -> None:
    """T-90: line breaks, terminal escapes and quotes in a value stay inside one JSON line."""
    hostile = 'mallory\r\n{"event": "admin.login", "ok": true}\x1b[2J"'
    security_log = logging.getLogger("parlour.security")
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logs.formatter("json"))
    security_log.addHandler(handler)
    try:
        security_event("api_key.refused", key_id=hostile)
    finally:
        security_log.removeHandler(handler)
    (line,) = buffer.getvalue().splitlines()
    assert "\r" not in line
    assert "\x1b" not in line
    record = json.loads(line)
    assert (record["event"], record["key_id"], record["level"]) == (
        "api_key.refused",
        hostile,
        "warning",
    )
