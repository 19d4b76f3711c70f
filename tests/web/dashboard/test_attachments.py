"""The desk and attachments (T-102): a conversation's page shows a customer's image as a
server-made thumbnail with a link that downloads the original, and an agent sends a file with a
reply from a form that must come from the dashboard with its CSRF token; the customer's socket
then receives it."""

from __future__ import annotations

import re

import httpx

from parlour.audit.events import Actor, ActorType
from tests.conftest import Stack
from tests.support import files, seed
from tests.support.chat import authenticate, open_socket, receive_until
from tests.support.desk import desk_member
from tests.web.dashboard.test_pages import Pages, csrf_of


async def test_the_desk_shows_a_customers_image_as_a_thumbnail_and_links_the_original(
    stack: Stack,
) -> None:
    """T-102: the page's image is the thumbnail's signed link, the file's name a download link."""
    org = await seed.organisation(stack.services, faq=None)
    ada = await desk_member(stack.services, org.tenant_id)
    conversation_id = await seed.with_a_person(stack.services, org)
    attachments = stack.services.attachments
    ticket, _ = attachments.links.ticket(org.tenant_id, conversation_id, "customer-1")
    stored = await attachments.upload_with_ticket(
        ticket, "my-card.jpg", files.jpeg_with_exif(), actor=Actor(ActorType.SYSTEM, "customer")
    )
    await stack.services.chat.post_user_message(
        org.tenant_id,
        conversation_id,
        client_id="c1",
        text="Here it is",
        attachment_ids=[stored.attachment_id],
    )
    async with httpx.AsyncClient(base_url=stack.url, timeout=10) as client:
        pages = Pages(client, stack.url)
        pages.cookie = ada.session_token
        page = await pages.get(f"/dashboard/o/{org.tenant_id}/inbox/{conversation_id}")
        assert page.status_code == 200
        thumbnail = re.search(r'<img src="([^"]+/thumbnail\?[^"]+)"', page.text)
        original = re.search(
            r'<a href="([^"]+/original\?[^"]+)" download>my-card.jpg</a>', page.text
        )
        assert thumbnail, page.text
        assert original, page.text
        shown = await client.get(thumbnail.group(1).replace("&amp;", "&"))
        assert shown.status_code == 200
        assert shown.headers["content-type"] == "image/jpeg"
        downloaded = await client.get(original.group(1).replace("&amp;", "&"))
        assert downloaded.headers["content-disposition"].startswith("attachment;")


async def test_t102_an_agent_sends_a_file_from_the_desk_with_csrf_and_the_customer_receives_it(
    stack: Stack,
) -> None:
    """T-102: the attach form needs the dashboard's origin and the session's CSRF token; a file
    that is not allowed shows the page again with the reason; an allowed one reaches the
    customer's socket in a `message` frame with its links."""
    org = await seed.organisation(stack.services, faq=None)
    ada = await desk_member(stack.services, org.tenant_id)
    conversation_id = await seed.with_a_person(stack.services, org)
    path = f"/dashboard/o/{org.tenant_id}/inbox/{conversation_id}/attach"
    token = await seed.token_for(stack.services, org)
    async with (
        httpx.AsyncClient(base_url=stack.url, timeout=10) as client,
        open_socket(stack.ws_url, org.widget_id, org.origin) as ws,
    ):
        await authenticate(ws, token)
        pages = Pages(client, stack.url)
        pages.cookie = ada.session_token
        page = await pages.get(f"/dashboard/o/{org.tenant_id}/inbox/{conversation_id}")
        assert 'id="attach"' in page.text
        csrf = csrf_of(page)
        cookie = {"cookie": f"__Host-parlour_session={ada.session_token}"}

        async def attach(data: bytes, name: str, *, origin: str, token: str) -> httpx.Response:
            return await client.post(
                path,
                data={"csrf_token": token, "text": "Your statement"},
                files={"file": (name, data, "application/pdf")},
                headers={**cookie, "origin": origin},
            )

        forged = await attach(files.pdf(), "s.pdf", origin="https://evil.example", token=csrf)
        assert forged.status_code == 403
        tokenless = await attach(files.pdf(), "s.pdf", origin=stack.url, token="nope")
        assert tokenless.status_code == 403
        refused = await attach(files.HTML, "statement.pdf", origin=stack.url, token=csrf)
        assert refused.status_code == 415
        assert "Only PNG, JPEG, WebP and GIF images and PDF documents" in refused.text
        sent = await attach(files.pdf(), "statement.pdf", origin=stack.url, token=csrf)
        assert sent.status_code == 303, sent.text

        frames = await receive_until(
            ws, lambda f: f["type"] == "message" and f["author"] == "agent"
        )
        message = frames[-1]
        assert message["text"] == "Your statement"
        (carried,) = message["attachments"]
        assert carried["name"] == "statement.pdf"
        assert carried["content_type"] == "application/pdf"
        assert carried["thumbnail_url"] is None
        downloaded = await client.get(carried["url"])
        assert downloaded.status_code == 200
        assert downloaded.content.startswith(b"%PDF-")
