"""Search and the customer panel over HTTP: a member reads their organisation's conversations
found by words with the matching snippet, and a conversation's customer as the verified token
said; an organisation's search finds nothing of another's (T-98)."""

from __future__ import annotations

import json

import httpx

from parlour.identity.models import Role
from tests.conftest import Stack
from tests.support import seed
from tests.support.accounts import Browser, signed_up_and_enrolled
from tests.support.chat import authenticate, is_assistant_message, open_socket, receive_until, say
from tests.web.test_errors import assert_error_shape


async def test_an_analyst_searches_by_words_and_reads_the_customer_panel(stack: Stack) -> None:
    org = await seed.organisation(stack.services)
    other = await seed.organisation(stack.services, name="Other Org")
    traits = {"name": "Ada Lovelace", "email": "ada@example.com"}
    minted = await stack.services.end_user_tokens.mint(
        org.tenant_id, widget_id=org.widget_id, user_id="ada", origin=org.origin, traits=traits
    )
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, minted.token)
        await say(ws, "What are your opening hours?")
        await receive_until(ws, is_assistant_message)
    theirs = await stack.services.chat.open_conversation(other.tenant_id, "eve")
    await stack.services.chat.post_user_message(
        other.tenant_id, theirs.conversation_id, client_id="x", text="opening hours please"
    )
    for tenant_id in (org.tenant_id, other.tenant_id):
        await stack.services.search_indexer.index_tenant(tenant_id, 0)

    async with httpx.AsyncClient(base_url=stack.url) as client:
        analyst = Browser(client)
        email, _ = await signed_up_and_enrolled(stack, analyst)
        await stack.services.members.add(org.tenant_id, email, Role.ANALYST, actor=seed.ACTOR)
        base = f"/v1/organisations/{org.tenant_id}"
        answer = await analyst.send("GET", f"{base}/search?q=opening%20HOURS")
        assert answer.status_code == 200
        found = answer.json()
        [hit] = found
        assert hit["conversation"]["end_user_id"] == "ada"
        assert hit["match"]["author"] == "user"
        assert hit["match"]["snippet"] == "What are your opening hours?"
        # The assistant's answer is found too: the conversation by its newest match.
        answer = await analyst.send("GET", f"{base}/search?q=monday%20friday")
        assert [h["match"]["author"] for h in answer.json()] == ["assistant"]
        assert theirs.conversation_id not in json.dumps(found)
        by_state = await analyst.send("GET", f"{base}/search?status=bot&customer=ada")
        assert [h["conversation"]["end_user_id"] for h in by_state.json()] == ["ada"]
        assert by_state.json()[0]["match"] is None

        conversation_id = hit["conversation"]["conversation_id"]
        panel = await analyst.send("GET", f"{base}/conversations/{conversation_id}/customer")
        assert panel.status_code == 200
        body = panel.json()
        assert body["customer"]["traits"] == traits
        assert body["customer"]["anonymous"] is False
        [turn] = body["turns"]
        assert turn["outcome"] == "answered"
        assert turn["provider"]
        assert turn["model"]
        assert turn["citations"]

        refused = await analyst.send("GET", f"{base}/search?q=the")
        assert_error_shape(refused, 422, "invalid_input")
        # A moment without its offset is no moment: refused, never compared with one that has.
        naive = await analyst.send(
            "GET", f"{base}/search?from=2026-01-01T00:00:00&to=2026-01-02T00:00:00Z"
        )
        assert_error_shape(naive, 422, "invalid_input")
        elsewhere = await analyst.send(
            "GET",
            f"/v1/organisations/{org.tenant_id}/conversations/{theirs.conversation_id}/customer",
        )
        assert_error_shape(elsewhere, 404, "not_found")
