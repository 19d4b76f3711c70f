"""A source's page in the dashboard (issue 23, item 5): the knowledge page's upload form takes
it, https only, and the conversation page's customer panel shows the assistant's citation of
such a source as a link opened apart, otherwise as its title."""

from __future__ import annotations

import httpx

from parlour.identity.models import Role
from tests.conftest import Stack
from tests.support import seed
from tests.support.chat import authenticate, open_socket, receive_until, say
from tests.web.dashboard.test_pages import COOKIE, Pages, csrf_of, enrolled

URL = "https://bank.example/help/hours?a=1&b=2"
HOURS = b'question,answer\nWhat are your opening hours?,"We are open Monday to Friday."\n'


async def upload(pages: Pages, path: str, csrf: str, source_url: str) -> httpx.Response:
    return await pages.client.post(
        path,
        data={"csrf_token": csrf, "source_url": source_url},
        files={"file": ("hours.csv", HOURS, "text/csv")},
        headers={"origin": pages.origin, "cookie": f"{COOKIE}={pages.cookie}"},
    )


async def test_the_upload_form_keeps_an_https_page_and_refuses_any_other(stack: Stack) -> None:
    """T-70: a javascript: or plain-http page never becomes a link customers are shown."""
    org = await seed.organisation(stack.services, faq=None)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages = Pages(client, stack.url)
        email, _ = await enrolled(stack, pages)
        await stack.services.members.add(org.tenant_id, email, Role.ADMIN, actor=seed.ACTOR)
        path = f"/dashboard/o/{org.tenant_id}/knowledge"
        page = await pages.get(path)
        assert 'name="source_url"' in page.text
        for bad in ("javascript:alert(1)", "http://bank.example/help"):
            refused = await upload(pages, path, csrf_of(page), bad)
            assert "must start with https://" in refused.text  # at once, before any job
        assert await stack.services.knowledge_imports.recent(org.tenant_id) == []
        sent = await upload(pages, path, csrf_of(page), URL)
        assert sent.status_code == 303, sent.text
        [job] = await stack.services.knowledge_imports.recent(org.tenant_id)
        assert job.source_url == URL
        await stack.on_the_server(lambda s: s.knowledge_imports.ended(org.tenant_id, job.job_id))
        [version] = await stack.services.knowledge.versions(org.tenant_id)
        assert [s.source_url for s in version.sources] == [URL]


async def test_the_customer_panel_links_a_citation_to_its_sources_page(stack: Stack) -> None:
    org = await seed.organisation(stack.services, faq=None)
    await stack.services.knowledge.upload(
        org.tenant_id, "hours.csv", HOURS, actor=seed.ACTOR, source_url=URL
    )
    await stack.services.knowledge.upload(
        org.tenant_id, "cards.csv", b"question,answer\nHow do I block my card?,Tap Freeze.\n",
        actor=seed.ACTOR,
    )  # fmt: skip
    minted = await stack.services.end_user_tokens.mint(
        org.tenant_id, widget_id=org.widget_id, user_id="ada", origin=org.origin
    )
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as ws:
        await authenticate(ws, minted.token)
        for question in ("What are your opening hours?", "How do I block my card?"):
            await say(ws, question)
            await receive_until(ws, lambda f: f["type"] == "message" and f["author"] == "assistant")
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages = Pages(client, stack.url)
        email, _ = await enrolled(stack, pages)
        await stack.services.members.add(org.tenant_id, email, Role.AGENT, actor=seed.ACTOR)
        conversation = await stack.services.chat.open_conversation(org.tenant_id, "ada")
        page = await pages.get(f"/dashboard/o/{org.tenant_id}/inbox/{conversation.conversation_id}")
        link = (
            '<a href="https://bank.example/help/hours?a=1&amp;b=2" target="_blank" '
            'rel="noopener noreferrer">What are your opening hours?</a>'
        )
        assert link in page.text
        assert "<li>How do I block my card?</li>" in page.text
