"""Citations in real headless Chromium (issue 23, item 5): a source uploaded with its page's
https address is cited as a link that opens apart from the organisation's page
(rel=noopener noreferrer, target=_blank); a source without one, as its title; an answer's [1],
[2] name its citations in order. The widget is the one in widget/src, as the server serves it."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from parlour.chat.models import Author, Citation
from parlour.services import Services
from tests.browser import test_demo_widget as demo_widget
from tests.browser.test_demo_widget import WAIT_MS, Demo, ask, customer
from tests.conftest import Stack
from tests.support.seed import ACTOR

pytestmark = pytest.mark.browser
browser = demo_widget.browser
demo = demo_widget.demo

FEES_URL = "https://bank.example/help/transfers?from=chat#abroad"
FEES = b"# What does a transfer abroad cost?\n\nA transfer abroad costs 5 pounds.\n"


async def test_a_citation_of_a_source_with_an_https_page_is_a_safe_link_otherwise_its_title(
    demo: Demo, stack: Stack
) -> None:
    """T-70: the only link an answer carries is its source's https page, opened apart."""
    await demo.services.knowledge.upload(
        demo.tenant_id, "transfers.md", FEES, actor=ACTOR, source_url=FEES_URL
    )
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "What does a transfer abroad cost?")
    answers = page.locator(".msg.assistant")
    await expect(answers).to_have_count(1, timeout=WAIT_MS)
    link = (
        answers.nth(0)
        .locator(".sources")
        .get_by_role("link", name="What does a transfer abroad cost?")
    )
    await expect(link).to_have_attribute("href", FEES_URL)
    await expect(link).to_have_attribute("rel", "noopener noreferrer")
    await expect(link).to_have_attribute("target", "_blank")

    await ask(page, "How do I reset my password?")
    await expect(answers).to_have_count(2, timeout=WAIT_MS)
    sources = answers.nth(1).locator(".sources")
    await expect(sources).to_have_text("Source: How do I reset my password?")
    await expect(sources.locator("a")).to_have_count(0)
    assert demo.console_errors == []


async def test_an_answers_numbers_name_its_citations_in_order(demo: Demo, stack: Stack) -> None:
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "How do I reset my password?")
    answers = page.locator(".msg.assistant")
    await expect(answers).to_have_count(1, timeout=WAIT_MS)
    conversation = await stack.services.chat.open_conversation(demo.tenant_id, await customer(page))
    citations = (
        Citation("e1", "What are your opening hours?", "https://bank.example/hours"),
        Citation("e2", "How do I reset my password?"),
    )

    async def answer(services: Services) -> None:
        await services.chat.post(
            demo.tenant_id,
            conversation.conversation_id,
            author=Author.ASSISTANT,
            body="We open at nine [1]. Tap Forgot password [2]. Not ours [3].",
            citations=citations,
        )

    await stack.on_the_server(answer)
    await expect(answers).to_have_count(2, timeout=WAIT_MS)
    said = answers.nth(1)
    marks = said.locator("sup.cite")
    await expect(marks).to_have_count(2)
    first = marks.nth(0).get_by_role("link", name="[1]")
    await expect(first).to_have_attribute("href", "https://bank.example/hours")
    await expect(first).to_have_attribute("rel", "noopener noreferrer")
    await expect(marks.nth(1)).to_have_text("[2]")
    await expect(marks.nth(1).locator("a")).to_have_count(0)
    await expect(said).to_contain_text("Not ours [3].")  # no citation 3: plain text
    lines = said.locator(".sources li")
    await expect(lines).to_have_text(
        ["[1] Source: What are your opening hours?", "[2] Source: How do I reset my password?"]
    )
    await expect(lines.nth(0).get_by_role("link")).to_have_attribute(
        "href", "https://bank.example/hours"
    )
    assert demo.console_errors == []
