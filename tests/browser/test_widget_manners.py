"""The widget's manners in real headless Chromium: messages that come while the panel is closed
count on the launcher's badge (and in its accessible name) until it opens; each message shows
its time in the customer's language, from its frame's created_at; a run of messages by the
same person is grouped, signed once."""

from __future__ import annotations

from playwright.async_api import expect

from parlour.audit.events import Actor, ActorType
from tests.browser import test_demo_widget as demo_widget
from tests.browser.test_demo_widget import WAIT_MS, Demo, ask, customer
from tests.conftest import Stack

browser = demo_widget.browser
demo = demo_widget.demo


async def test_replies_while_closed_count_on_the_badge_and_show_grouped_with_their_times(
    stack: Stack, demo: Demo
) -> None:
    page = demo.page
    launcher = page.get_by_role("button", name="Open chat")
    await launcher.click()
    await ask(page, "How do I reset my password?")
    await expect(page.locator(".msg.assistant")).to_have_count(1, timeout=WAIT_MS)
    await page.get_by_role("button", name="Close chat").click()
    badge = page.locator(".badge")
    await expect(badge).to_be_hidden()

    account = await stack.services.accounts.by_email(demo.agent_email)
    assert account is not None
    agent = Actor(ActorType.ACCOUNT, account.account_id)
    conversation = await stack.services.chat.open_conversation(demo.tenant_id, await customer(page))
    sent = []
    for text in ["Hello, I'm here.", "Let me look at your account."]:
        sent.append(
            await stack.on_the_server(
                lambda s, text=text: s.desk.reply(
                    demo.tenant_id, conversation.conversation_id, text, actor=agent
                )
            )
        )
    # "A person has joined the chat." and the two replies.
    await expect(badge).to_have_text("3", timeout=WAIT_MS)
    await expect(page.get_by_role("button", name="Open chat, 3 unread messages")).to_be_visible()

    await launcher.click()
    await expect(badge).to_be_hidden()
    await expect(page.get_by_role("button", name="Open chat", exact=True)).to_have_attribute(
        "aria-expanded", "true"
    )
    replies = page.locator(".msg.agent")
    await expect(replies).to_have_count(2)
    await expect(page.locator(".log .who")).to_have_count(1)  # one name for the run
    assert await replies.nth(0).get_attribute("class") == "msg agent"
    assert await replies.nth(1).get_attribute("class") == "msg agent cont"
    for reply, message in zip(await replies.all(), sent, strict=True):
        expected = await page.evaluate(
            "iso => new Date(iso).toLocaleTimeString('en', {hour: 'numeric', minute: '2-digit'})",
            message.created_at.isoformat(),
        )
        assert await reply.get_attribute("data-time") == expected
    # The customer's own message has its time too, once the server stored it.
    assert await page.locator(".msg.user").get_attribute("data-time")
    assert demo.console_errors == []
