"""The desk's pages: the member's desk preferences (account page), and what the Inbox and a
conversation's page give their script (docs/desk.md), without which they work as before."""

from __future__ import annotations

import httpx

from parlour.chat.desk_marks import DeskPreferences
from tests.conftest import Stack
from tests.support import seed
from tests.support.desk import desk_member
from tests.web.dashboard.test_pages import Pages, csrf_of


async def test_a_member_chooses_notifications_and_a_sound_for_an_organisations_desk(
    stack: Stack,
) -> None:
    org = await seed.organisation(stack.services, name="Desk Bank", faq=None)
    ada = await desk_member(stack.services, org.tenant_id)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages = Pages(client, stack.url)
        pages.cookie = ada.session_token
        account = await pages.get("/dashboard/account")
        assert "Save for Desk Bank" in account.text
        path = f"/dashboard/o/{org.tenant_id}/desk-preferences"
        refused = await pages.post(
            path, {"csrf_token": csrf_of(account), "notify": "on"}, origin="https://evil.example"
        )
        assert refused.status_code == 403
        saved = await pages.post(path, {"csrf_token": csrf_of(account), "notify": "on"})
        assert saved.status_code == 303
        assert saved.headers["location"] == "/dashboard/account"
        chosen = await stack.services.desk_marks.preferences(org.tenant_id, ada.account_id)
        assert chosen == DeskPreferences(notify=True, sound=False)
        inbox = await pages.get(f"/dashboard/o/{org.tenant_id}/inbox")
        assert 'data-notify="on" data-sound="off"' in inbox.text
        assert '<script src="/dashboard/static/desk.js" defer></script>' in inbox.text
        script = await client.get("/dashboard/static/desk.js")
        assert script.headers["content-type"] == "text/javascript; charset=utf-8"
        assert "/live" in script.text


async def test_the_inbox_counts_what_the_member_has_not_read(stack: Stack) -> None:
    org = await seed.organisation(stack.services, faq=None)
    ada = await desk_member(stack.services, org.tenant_id)
    conversation_id = await seed.with_a_person(stack.services, org)
    for n in range(3):
        await stack.services.chat.post_user_message(
            org.tenant_id, conversation_id, client_id=f"c{n}", text=f"message {n}"
        )
    await stack.services.desk_marks.mark_read(org.tenant_id, ada.account_id, conversation_id, 2)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages = Pages(client, stack.url)
        pages.cookie = ada.session_token
        inbox = await pages.get(f"/dashboard/o/{org.tenant_id}/inbox")
    assert f'data-conversation-id="{conversation_id}" data-last-seq="4" data-read-seq="2"' in (
        inbox.text
    )
    assert '<td class="unread">2 new</td>' in inbox.text
