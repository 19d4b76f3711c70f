"""Security events in the application log: one JSON object per line, so a user name or message
with line breaks, quotes or terminal escapes cannot forge or break a log line (T-90). Callers pass
identifiers and metadata only, never a token, secret or message body (T-89)."""

from __future__ import annotations

import json
import logging

security_log = logging.getLogger("parlour.security")


def security_event(event: str, **fields: object) -> None:
    security_log.warning(
        json.dumps({"event": event, **fields}, ensure_ascii=True, default=str, sort_keys=True)
    )
