"""The widget's side of the live desk in real headless Chromium: "Talk to a person" is in its
header from the start where the organisation has people, an agent's typing shows with their
name, their reply is signed with their name and initials, the customer's reading reaches the
conversation, and the agent's reading shows as "Seen"."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from playwright.async_api import expect

from parlour.audit.events import Actor, ActorType
from parlour.chat.models import Author, ReadUpTo
from parlour.services import Services
from tests.browser import test_demo_widget as demo_widget
from tests.browser.test_demo_widget import WAIT_MS, Demo, ask, customer
from tests.conftest import Stack
from tests.support.seed import ACTOR

# The demo's fixtures: its page with the widget, in Chromium.
browser = demo_widget.browser
demo = demo_widget.demo


async def test_the_widget_shows_who_answers_their_typing_and_what_they_have_seen(
    stack: Stack, demo: Demo
) -> None:
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    person = page.locator("header").get_by_role("button", name="Talk to a person")
    await expect(person).to_be_visible(timeout=WAIT_MS)  # before any refusal
    await ask(page, "How do I reset my password?")
    await expect(page.locator(".msg.assistant")).to_have_count(1, timeout=WAIT_MS)

    account = await stack.services.accounts.by_email(demo.agent_email)
    assert account is not None
    await stack.services.accounts.set_display_name(account.account_id, "Ada Lovelace", actor=ACTOR)
    agent = Actor(ActorType.ACCOUNT, account.account_id)
    conversation = await stack.services.chat.open_conversation(demo.tenant_id, await customer(page))
    conversation_id = conversation.conversation_id

    await stack.on_the_server(
        lambda s: s.desk.typing(demo.tenant_id, conversation_id, True, actor=agent)
    )
    await expect(page.get_by_role("status")).to_have_text(
        "Ada Lovelace is typing…", timeout=WAIT_MS
    )
    # What the customer's widget tells the server it has read, heard on the server's broker.
    loop = asyncio.get_running_loop()
    read_up_to: asyncio.Queue[int] = asyncio.Queue()

    def heard(event: object) -> None:
        if isinstance(event, ReadUpTo) and event.author is Author.USER:
            loop.call_soon_threadsafe(read_up_to.put_nowait, event.seq)

    async def listen(s: Services) -> Callable[[], None]:
        return await s.chat.broker.listen(demo.tenant_id, conversation_id, heard)

    stop_listening = await stack.on_the_server(listen)
    reply = "Happy to help."
    sent = await stack.on_the_server(
        lambda s: s.desk.reply(demo.tenant_id, conversation_id, reply, actor=agent)
    )
    await expect(page.locator(".msg.agent")).to_have_text(reply, timeout=WAIT_MS)
    signed = page.locator(".who").last
    await expect(signed).to_contain_text("Ada Lovelace")
    await expect(signed.locator(".avatar")).to_have_text("AL")
    await expect(person).to_be_hidden()  # a person has it now

    # The customer saw everything (the panel is open): the conversation says so.
    async with asyncio.timeout(WAIT_MS / 1000):
        while await read_up_to.get() < sent.seq:
            pass

    async def unlisten(_: Services) -> None:
        stop_listening()

    await stack.on_the_server(unlisten)
    seen = await stack.services.chat.get_conversation(demo.tenant_id, conversation_id)
    assert seen.customer_read_seq == seen.last_seq

    await expect(page.locator(".seen")).to_have_count(0)
    await stack.on_the_server(
        lambda s: s.chat.mark_read(demo.tenant_id, conversation_id, Author.AGENT, 1)
    )
    await expect(page.locator(".seen")).to_have_text("Seen", timeout=WAIT_MS)
    # Shown under the customer's own message the people have read.
    follows = await page.locator(".msg.user").first.evaluate(
        "node => node.nextElementSibling.className"
    )
    assert follows == "seen"
    assert demo.console_errors == []
