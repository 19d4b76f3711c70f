from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from parlour.chat.models import WEBHOOK_EVENTS


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


# What an endpoint may hear: a conversation's messages (chat.models), and the organisation's own
# events, which name no message (a security alert, parlour.alerts; a customer's rating,
# chat/ratings.py, owed in the rating's transaction).
ORGANISATION_EVENTS = ("security.alert", "conversation.rated")
EVENTS = (*WEBHOOK_EVENTS, *ORGANISATION_EVENTS)


@dataclass(frozen=True, slots=True)
class Delivery:
    """An event an endpoint is still owed, and how often sending it has failed: a message's
    (named by `message_id`, read when sent) or the organisation's own (its body in `payload`)."""

    delivery_id: str
    tenant_id: str
    endpoint_id: str
    event: str
    conversation_id: str | None
    message_id: str | None
    attempts: int
    next_attempt_at: datetime
    payload: str | None = None
