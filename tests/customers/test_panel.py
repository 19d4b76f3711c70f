"""The customer panel: the verified claims of the latest token a customer's socket was admitted
with (never a visitor's, never what anyone typed), their other conversations, and the
assistant's turns in this one with citations and provenance; on both backends."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from parlour.chat.admission import Knock
from parlour.chat.models import Conversation, ConversationStatus
from parlour.chat.repository import ConversationRepository
from parlour.chat.widget_admission import WidgetEntry
from parlour.errors import NotFound
from parlour.services import Services
from parlour.storage.ids import time_ordered_id
from tests.support import seed
from tests.support.assistants import ask


async def admitted(services: Services, org: seed.Organisation, frame: dict[str, object]) -> str:
    """Open a customer's socket with `frame` as its first frame, through the widget's own
    admission; the end user it was bound to."""
    tenant = await services.tenants.get(org.tenant_id)
    entry = WidgetEntry(tenant, Knock(org.widget_id, org.origin, "127.0.0.1", "test", secure=True))
    async with services.widget_admission.authenticate(entry, json.dumps(frame)) as visit:
        return visit.session.user.user_id


async def test_the_panel_shows_the_latest_verified_claims_and_never_a_visitors(
    backend: Services,
) -> None:
    services = backend
    org = await seed.organisation(services, faq=None)
    traits = {"name": "Ada Lovelace", "email": "ada@example.com"}
    minted = await services.end_user_tokens.mint(
        org.tenant_id, widget_id=org.widget_id, user_id="ada", origin=org.origin, traits=traits
    )
    await admitted(services, org, {"type": "auth", "token": minted.token})
    conversation = await services.chat.open_conversation(org.tenant_id, "ada")
    # What the customer types is not a claim: it changes nothing in the panel.
    await services.chat.post_user_message(
        org.tenant_id,
        conversation.conversation_id,
        client_id="c1",
        text='{"name": "Mallory", "email": "mallory@evil.example"}',
    )
    panel = await services.customer_panel.panel(org.tenant_id, conversation.conversation_id)
    assert not panel.anonymous
    assert panel.profile is not None
    assert panel.profile.traits == traits

    renamed = {"name": "Ada King", "email": "ada@example.com"}
    newer = await services.end_user_tokens.mint(
        org.tenant_id, widget_id=org.widget_id, user_id="ada", origin=org.origin, traits=renamed
    )
    await admitted(services, org, {"type": "auth", "token": newer.token})
    panel = await services.customer_panel.panel(org.tenant_id, conversation.conversation_id)
    assert panel.profile is not None
    assert panel.profile.traits == renamed

    await services.tenants.set_anonymous_visitors(org.tenant_id, True, actor=seed.ACTOR)
    visitor = await admitted(services, org, {"type": "auth", "visitor": True})
    theirs = await services.chat.open_conversation(org.tenant_id, visitor)
    panel = await services.customer_panel.panel(org.tenant_id, theirs.conversation_id)
    assert panel.anonymous
    assert panel.profile is None


async def test_the_panel_lists_the_customers_other_conversations_and_the_assistants_turns(
    backend: Services,
) -> None:
    services = backend
    org = await seed.organisation(services)
    answer = await ask(services, services.assistant, org, "What are your opening hours?", user="bo")
    assert answer is not None
    current = await services.chat.open_conversation(org.tenant_id, "bo")
    earlier = Conversation(
        tenant_id=org.tenant_id,
        conversation_id=time_ordered_id(),
        end_user_id="bo",
        status=ConversationStatus.RESOLVED,
        last_seq=0,
        created_at=current.created_at - timedelta(days=3),
    )
    someone_else = await services.chat.open_conversation(org.tenant_id, "cy")
    async with services.db.transaction(org.tenant_id) as conn:
        await ConversationRepository(conn).insert(earlier)

    panel = await services.customer_panel.panel(org.tenant_id, current.conversation_id)
    assert [c.conversation_id for c in panel.previous] == [earlier.conversation_id]
    assert someone_else.conversation_id not in [c.conversation_id for c in panel.previous]
    assert panel.profile is None  # no token was ever admitted for "bo"
    [turn] = panel.turns
    assert turn.record.message_id == answer.message_id
    assert turn.record.outcome.value == "answered"
    assert (turn.record.provider, turn.record.model) != ("", "")
    assert turn.record.knowledge_version is not None
    assert [c.title for c in turn.citations] == [c.title for c in answer.citations]
    assert turn.citations


async def test_a_conversation_of_another_organisation_has_no_panel(backend: Services) -> None:
    """T-98."""
    services = backend
    a = await seed.organisation(services, faq=None)
    b = await seed.organisation(services, faq=None, name="Other Org")
    theirs = await services.chat.open_conversation(b.tenant_id, "someone")
    with pytest.raises(NotFound):
        await services.customer_panel.panel(a.tenant_id, theirs.conversation_id)
