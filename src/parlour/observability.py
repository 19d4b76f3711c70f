"""Security events in the application log: one structured record each, its name as the record's
event and its fields as keys of their own (parlour.logs renders them), so a user name or message
with line breaks, quotes or terminal escapes cannot forge or break a log line (T-90). Callers pass
identifiers and metadata only, never a token, secret or message body (T-89, T-105)."""

from __future__ import annotations

import logging

from parlour.logs import FIELDS

security_log = logging.getLogger("parlour.security")


def security_event(event: str, **fields: object) -> None:
    security_log.warning(event, extra={FIELDS: fields})


def event_fields(record: logging.LogRecord) -> dict[str, object]:
    """A security event's name and fields, as `security_event` was given them."""
    fields: dict[str, object] = getattr(record, FIELDS, {})
    return {"event": record.getMessage(), **fields}
