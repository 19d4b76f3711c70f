"""Attachments on the live desk in real headless Chromium (T-102): a customer's image appears on
the agent's open conversation as the server's thumbnail, loaded under the dashboard's CSP, with a
link that downloads the original; the agent sends a file back from the page's form and the
customer's socket receives it."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.browser.test_demo_widget import WAIT_MS, browser  # noqa: F401
from tests.browser.test_desk import signed_in
from tests.conftest import Stack
from tests.support import files, seed
from tests.support.chat import authenticate, open_socket, receive_until
from tests.support.desk import desk_member

pytestmark = pytest.mark.browser


async def test_t102_attachments_go_both_ways_on_the_desk_with_thumbnails(
    stack: Stack,
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    """T-102: the customer's photo shows on the desk as a thumbnail (an image that loaded, from
    a signed link), never the original; the agent's PDF reaches the customer with its link; the
    page breaks no rule of its CSP."""
    org = await seed.organisation(stack.services, faq=None)
    ada = await desk_member(stack.services, org.tenant_id)
    conversation_id = await seed.with_a_person(stack.services, org)
    agent = await signed_in(browser, stack, ada.session_token)
    violations: list[str] = []
    agent.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    await agent.goto(f"{stack.url}/dashboard/o/{org.tenant_id}/inbox/{conversation_id}")
    await expect(agent.locator("#desk[data-live=on]")).to_have_count(1, timeout=WAIT_MS)

    token = await seed.token_for(stack.services, org)
    async with (
        open_socket(stack.ws_url, org.widget_id, org.origin) as customer,
        httpx.AsyncClient(timeout=10) as client,
    ):
        await authenticate(customer, token)
        await customer.send(json.dumps({"type": "upload"}))
        ticket = (await receive_until(customer, lambda f: f["type"] == "upload_ticket"))[-1]
        uploaded = await client.post(
            ticket["url"],
            content=files.jpeg_with_exif(),
            headers={
                "Authorization": f"Bearer {ticket['ticket']}",
                "X-Parlour-Filename": "card.jpg",
            },
        )
        assert uploaded.status_code == 201
        await customer.send(
            json.dumps(
                {
                    "type": "message",
                    "client_id": str(uuid.uuid4()),
                    "text": "Here is my card",
                    "attachments": [uploaded.json()["id"]],
                }
            )
        )
        shown = agent.locator("#messages > li").last
        await expect(shown).to_contain_text("Here is my card", timeout=WAIT_MS)
        image = shown.locator("ul.attachments img")
        await expect(image).to_have_count(1)
        assert "/thumbnail?" in (await image.get_attribute("src") or "")
        loaded = await image.evaluate("img => img.complete && img.naturalWidth > 0")
        if not loaded:
            await image.evaluate(
                "img => new Promise(r => img.addEventListener('load', r, {once: true}))"
            )
        assert await image.evaluate("img => img.naturalWidth") <= 320
        link = shown.get_by_role("link", name="card.jpg")
        assert "/original?" in (await link.get_attribute("href") or "")
        assert await link.get_attribute("download") == ""

        pdf = tmp_path / "statement.pdf"
        pdf.write_bytes(files.pdf())
        await agent.locator("#attach-file").set_input_files(str(pdf))
        await agent.locator("#attach-text").fill("Your statement")
        await agent.get_by_role("button", name="Attach", exact=True).click()
        frames = await receive_until(
            customer, lambda f: f["type"] == "message" and f["author"] == "agent"
        )
        (sent,) = frames[-1]["attachments"]
        assert sent["name"] == "statement.pdf"
        assert (await client.get(sent["url"])).content.startswith(b"%PDF-")
    await expect(agent.locator("#messages")).to_contain_text("statement.pdf", timeout=WAIT_MS)
    assert violations == []
