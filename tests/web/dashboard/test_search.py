"""The Inbox's search form and the conversation page's customer panel: server-rendered, under
the page CSP, showing what was found with its snippet and only verified claims."""

from __future__ import annotations

import html

import httpx

from parlour.identity.models import Role
from tests.conftest import Stack
from tests.support import seed
from tests.support.chat import authenticate, open_socket, receive_until, say
from tests.web.dashboard.test_pages import Pages, enrolled


async def test_a_member_searches_from_the_inbox_and_opens_the_customer_panel(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services, faq=None)
    traits = {"name": "Ada <b>Lovelace</b>", "email": "ada@example.com"}
    minted = await stack.services.end_user_tokens.mint(
        org.tenant_id, widget_id=org.widget_id, user_id="ada", origin=org.origin, traits=traits
    )
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, minted.token)
        sent = await say(ws, "My parcel never arrived, order 4471")
        # Stored once accepted; closing the socket sooner could leave it unstored.
        await receive_until(ws, lambda f: f["type"] == "accepted" and f["client_id"] == sent)
    # This organisation's messages indexed now (the node's own rounds run on their timer).
    await stack.services.search_indexer.index_tenant(org.tenant_id, 0)

    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages = Pages(client, stack.url)
        email, _ = await enrolled(stack, pages)
        await stack.services.members.add(org.tenant_id, email, Role.AGENT, actor=seed.ACTOR)
        inbox = await pages.get(f"/dashboard/o/{org.tenant_id}/inbox")
        assert f'action="/dashboard/o/{org.tenant_id}/search"' in inbox.text
        found = await pages.get(f"/dashboard/o/{org.tenant_id}/search?q=parcel+4471&status=bot")
        assert found.status_code == 200
        assert "default-src 'none'" in found.headers["content-security-policy"]
        assert "<script" not in found.text
        assert "My parcel never arrived, order 4471" in found.text
        nothing = await pages.get(f"/dashboard/o/{org.tenant_id}/search?q=parcel&status=resolved")
        assert 'id="nothing-found"' in nothing.text
        bad = await pages.get(f"/dashboard/o/{org.tenant_id}/search?q=parcel&from=yesterday")
        assert bad.status_code == 422
        assert 'id="error"' in bad.text

        conversation = await stack.services.chat.open_conversation(org.tenant_id, "ada")
        page = await pages.get(f"/dashboard/o/{org.tenant_id}/inbox/{conversation.conversation_id}")
        assert page.status_code == 200
        assert 'id="customer"' in page.text
        # Escaped as text: a name is never markup.
        assert f'id="customer-name">{html.escape(traits["name"])}<' in page.text
        assert 'id="customer-email">ada@example.com<' in page.text
        # The page's one script is the dashboard's own file, never inline.
        assert page.text.count("<script") == page.text.count('<script src="/dashboard/static/')
