"""The agents' tools in real headless Chromium: an agent on a conversation's page types `/ref`
in the reply box, picks the canned reply offered, and sends it; the customer's socket gets it.
The agent then writes a private note, which shows on the page among the messages and never in
the customer's frames (T-99). The page runs its script under the dashboard's CSP without a
single violation."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from parlour.identity.models import Role
from tests.browser.test_dashboard import log_in_and_enrol, shot
from tests.browser.test_demo_widget import WAIT_MS, browser  # noqa: F401
from tests.browser.test_reports import account
from tests.conftest import Stack
from tests.support import canaries, seed
from tests.support.chat import authenticate, open_socket, receive_until

pytestmark = pytest.mark.browser

REFUND = "Refunds reach your account within 5 working days."


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:  # noqa: F811
    context = await browser.new_context()
    opened = await context.new_page()
    yield opened
    await context.close()


async def test_an_agent_inserts_a_canned_reply_by_its_shortcut_and_sends_it(
    stack: Stack, page: Page
) -> None:
    """T-99 too: the note written after it reaches the page, and no frame of the customer's."""
    services = stack.services
    org = await seed.organisation(services)
    await services.canned_replies.create(org.tenant_id, "refund-policy", REFUND, actor=seed.ACTOR)
    await services.canned_replies.create(org.tenant_id, "hours", "9 to 5.", actor=seed.ACTOR)
    email, _ = await account(services, org.tenant_id, Role.AGENT)
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # (The browser's own ask for /favicon.ico, which the dashboard does not serve, aside.)
        if message.type in ("error", "warning") and "favicon" not in message.location["url"]:
            console.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: console.append(str(error)))
    await log_in_and_enrol(page, stack.url, email, name=None)

    async with open_socket(stack.ws_url, org.widget_id, org.origin) as customer:
        await authenticate(customer, await seed.token_for(services, org))
        await customer.send(json.dumps({"type": "handoff"}))
        await receive_until(customer, lambda f: f["type"] == "handoff")
        conversation = await services.chat.open_conversation(org.tenant_id, "customer-1")
        await page.goto(
            f"{stack.url}/dashboard/o/{org.tenant_id}/inbox/{conversation.conversation_id}"
        )

        box = page.get_by_label("Your reply")
        await box.press_sequentially("/ref")
        offered = page.get_by_role("option")
        await expect(offered).to_have_count(1, timeout=WAIT_MS)
        await expect(offered).to_contain_text("/refund-policy")
        await shot(page, "canned-reply-offered")
        await box.press("Enter")
        await expect(box).to_have_value(REFUND)
        await expect(page.get_by_role("listbox", name="Canned replies")).to_be_hidden()
        await page.get_by_role("button", name="Send").click()
        await expect(page.locator("#messages li.agent")).to_contain_text(REFUND, timeout=WAIT_MS)
        frames = await receive_until(
            customer, lambda f: f["type"] == "message" and f.get("author") == "agent"
        )
        assert frames[-1]["text"] == REFUND

        secret = canaries.register("Asked about a refund twice NOTE3307")
        await page.get_by_label("Private note").fill(secret)
        await page.get_by_role("button", name="Add note").click()
        note = page.locator("#messages li.private-note")
        await expect(note).to_contain_text(secret, timeout=WAIT_MS)
        await expect(note).to_contain_text("Private note by you")
        await shot(page, "conversation-with-note")
        await box.fill("Anything else?")
        await page.get_by_role("button", name="Send").click()
        after = await receive_until(customer, lambda f: f.get("text") == "Anything else?")
        assert "NOTE3307" not in json.dumps(after)

    assert [m for m in console if "Content Security Policy" in m] == []  # no CSP violation
    assert console == []
