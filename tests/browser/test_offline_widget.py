"""The widget's side of the desk when nobody is there, in real headless Chromium: outside the
organisation's hours it says when someone will answer and takes an address for the reply, then
offers the transcript; after a resolution it asks for a rating and says thank you."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from tests.browser.test_demo_widget import (  # noqa: F401
    WAIT_MS,
    Demo,
    ask,
    browser,
    customer,
    demo,
    resync_sockets,
)
from tests.chat.test_lifecycle import member
from tests.conftest import Stack
from tests.support.seed import ACTOR

pytestmark = pytest.mark.browser


async def test_outside_business_hours_the_widget_takes_an_address_and_offers_the_transcript(
    demo: Demo,  # noqa: F811
) -> None:
    await demo.services.business_hours.set(demo.tenant_id, [], [], "within 4 hours", actor=ACTOR)
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    away = page.locator(".card.away")
    await expect(away).to_contain_text(
        "We're closed right now. We usually reply within 4 hours.", timeout=WAIT_MS
    )
    box = page.get_by_role("textbox", name="Leave your e-mail and we'll send you our reply:")
    await box.fill("ada@customer")  # the browser lets it through; the server does not
    await away.get_by_role("button", name="Send").click()
    status = page.get_by_role("status")
    await expect(status).to_have_text("That is not an e-mail address we can write to.")
    await box.fill("ada@customer.example")
    await away.get_by_role("button", name="Send").click()
    await expect(status).to_have_text("Thank you: we'll e-mail you our reply.")
    await away.get_by_role("button", name="E-mail me this conversation").click()
    await expect(status).to_have_text("The conversation is on its way to your e-mail.")
    conversation = await demo.services.chat.open_conversation(demo.tenant_id, await customer(page))
    address = await demo.services.customer_mail.address_of(
        demo.tenant_id, conversation.conversation_id
    )
    assert address == "ada@customer.example"
    assert demo.console_errors == []


async def test_after_a_resolution_the_widget_asks_for_a_rating_once(
    stack: Stack,
    demo: Demo,  # noqa: F811
) -> None:
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "How do I reset my password?")
    await expect(page.locator(".msg.assistant")).to_have_count(1, timeout=WAIT_MS)
    services = demo.services
    conversation = await services.chat.open_conversation(demo.tenant_id, await customer(page))
    conversation_id = conversation.conversation_id
    agent = await member(services, demo.tenant_id)
    await services.chat.request_handoff(demo.tenant_id, conversation_id)
    await services.desk.take(demo.tenant_id, conversation_id, actor=agent)
    await services.desk.resolve(demo.tenant_id, conversation_id, actor=agent)
    resync_sockets(stack)  # the seeding services' moves reach the widget as it resumes
    rating = page.locator(".card.rating")
    await expect(rating).to_contain_text("How did we do?", timeout=WAIT_MS)
    await rating.get_by_role("button", name="4 of 5").click()
    await rating.get_by_role("textbox", name="A comment (optional)").fill("Quick, thanks")
    await rating.get_by_role("button", name="Send rating").click()
    await expect(rating).to_have_text("Thank you for your rating.", timeout=WAIT_MS)
    (stored,) = await services.ratings.of_conversation(demo.tenant_id, conversation_id)
    assert (stored.score, stored.comment, stored.agent_id) == (4, "Quick, thanks", agent.id)
    assert demo.console_errors == []
