"""The desk's webhook events: `conversation.assigned` and `conversation.resolved` owed with the
move's announcement (so only for a move that happened, in its transaction), and
`conversation.rated` with the rating; each signed like every delivery, with ids and states and
the score only, never a message's text or the customer's comment."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from parlour.errors import Conflict
from parlour.services import Services
from parlour.webhooks.signing import verify
from tests.chat.test_lifecycle import member
from tests.support import seed
from tests.support.seed import ACTOR
from tests.support.webhook_receiver import Receiver, webhook_receiver

DESK_EVENTS = ("conversation.assigned", "conversation.resolved", "conversation.rated")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


async def test_the_desks_moves_and_the_rating_reach_the_endpoint_signed_without_text(
    backend: Services, receiver: Receiver
) -> None:
    """On each backend: the moves' events are written by SQLite's direct writer or through
    SQLAlchemy on PostgreSQL, in the move's transaction."""
    org = await seed.organisation(backend, faq=None)
    created = await backend.webhook_endpoints.add(
        org.tenant_id, url=f"{receiver.url}/desk", events=DESK_EVENTS, actor=ACTOR
    )
    conversation = await backend.chat.open_conversation(org.tenant_id, "ada")
    conversation_id = conversation.conversation_id
    await backend.chat.post_user_message(
        org.tenant_id, conversation_id, client_id="c1", text="My secret card story"
    )
    await backend.chat.request_handoff(org.tenant_id, conversation_id)
    ada, bo = await member(backend, org.tenant_id), await member(backend, org.tenant_id)
    await backend.desk.reply(org.tenant_id, conversation_id, "Agent's private words", actor=ada)
    await backend.desk.assign(org.tenant_id, conversation_id, bo.id, actor=ada)
    await backend.desk.resolve(org.tenant_id, conversation_id, actor=bo)
    # Refused moves owe nothing.
    await backend.desk.resolve(org.tenant_id, conversation_id, actor=bo)
    with pytest.raises(Conflict):
        await backend.desk.take(org.tenant_id, conversation_id, actor=ada)
    await backend.ratings.rate(org.tenant_id, conversation_id, 4, "Bo was kind, my PIN is 1234")

    assert await backend.webhook_dispatcher.deliver_due() == 4
    deliveries = receiver.at("/desk")
    events = []
    for delivery in deliveries:
        verify([created.secret], delivery.headers, delivery.body, now=backend.clock())
        body = delivery.body.decode()
        for secret in ("My secret card story", "Agent's private words", "PIN", "kind"):
            assert secret not in body
        events.append(json.loads(body))
    by_type = sorted(
        (e["type"], e["data"].get("assignee_id", e["data"].get("agent_id"))) for e in events
    )
    assert [t for t, _ in by_type] == [
        "conversation.assigned",
        "conversation.assigned",
        "conversation.rated",
        "conversation.resolved",
    ]
    rated = next(e for e in events if e["type"] == "conversation.rated")
    assert rated["data"]["score"] == 4
    assert rated["data"]["agent_id"] == bo.id
    assert rated["data"]["conversation_id"] == conversation_id
    resolved = next(e for e in events if e["type"] == "conversation.resolved")
    assert resolved["data"]["status"] == "resolved"
    assert set(resolved["data"]) == {
        "organisation_id",
        "conversation_id",
        "end_user_id",
        "seq",
        "message_id",
        "status",
        "assignee_id",
        "created_at",
    }
