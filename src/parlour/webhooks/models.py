from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    tenant_id: str
    endpoint_id: str
    url: str
    events: tuple[str, ...]
    created_at: datetime
    previous_secret_until: datetime | None = None  # the replaced secret signs until then
    last_success_at: datetime | None = None
    last_failure_at: datetime | None = None
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown this once; stored sealed


@dataclass(frozen=True, slots=True)
class Delivery:
    """A message an endpoint is still owed, and how often sending it has failed."""

    delivery_id: str
    tenant_id: str
    endpoint_id: str
    event: str
    conversation_id: str
    message_id: str
    attempts: int
    next_attempt_at: datetime
