"""The middle band in real headless Chromium (issue 23, item 2): an unsure question is answered
with the entries as choices, keyboard-accessible buttons; a pick answers from the chosen entry
and the choices then show as answered; and the knowledge editor then shows the customer's
question as a learned phrasing of the chosen entry, which a librarian removes there."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from parlour.identity.models import Role
from tests.browser import test_demo_widget as demo_widget
from tests.browser.test_dashboard import log_in_and_enrol
from tests.browser.test_demo_widget import WAIT_MS, Demo, ask
from tests.conftest import Stack, running_stack
from tests.support.seed import ACTOR

pytestmark = pytest.mark.browser
# The demo's fixtures: its page with the widget, in Chromium, on the stack below.
browser = demo_widget.browser
demo = demo_widget.demo

# Answer at 0.6 and above; offer between 0.3 and 0.6 (the platform's default has no middle band).
MIDDLE_BAND = {"min_confidence": 0.6, "min_offer_confidence": 0.3}
UNSURE = "I can't get into my account"  # the demo bank's password entry at ~0.54
CHOSEN = "How do I reset my password?"


@pytest.fixture
async def stack(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, sqlite_url, assistant=MIDDLE_BAND) as running:
        yield running


async def test_a_customer_picks_a_choice_and_the_dashboard_shows_what_it_learned(
    demo: Demo, stack: Stack, browser: Browser
) -> None:
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, UNSURE)
    offered = page.get_by_role("group", name="Did you mean one of these?")
    offer = page.locator(".msg.assistant").filter(has=offered)
    choices = offer.get_by_role("group", name="Did you mean one of these?")
    await expect(choices).to_be_visible(timeout=WAIT_MS)
    await expect(choices.get_by_role("button", name="None of these")).to_be_visible()
    await expect(offer.get_by_role("group", name="Was this answer helpful?")).to_have_count(0)
    pick = choices.get_by_role("button", name=CHOSEN)

    await pick.focus()  # by keyboard
    await page.keyboard.press("Enter")

    answer = page.locator(".msg.assistant").last
    await expect(answer).to_contain_text('tap "Forgot password"', timeout=WAIT_MS)
    await expect(answer.get_by_role("list", name="Sources")).to_have_text(f"Source: {CHOSEN}")
    await expect(pick).to_have_attribute("aria-pressed", "true")
    for button in await choices.get_by_role("button").all():
        await expect(button).to_be_disabled()
    assert demo.console_errors == []

    email, password = "librarian@demo.example", secrets.token_urlsafe(12)
    await stack.services.members.set_up_demo_member(
        demo.tenant_id, email, password, Role.ADMIN, actor=ACTOR
    )
    context = await browser.new_context()
    librarian = await context.new_page()
    await log_in_and_enrol(librarian, stack.url, email, name=None, password=password)
    await librarian.goto(f"{stack.url}/dashboard/o/{demo.tenant_id}/knowledge/entries")
    await librarian.get_by_label("Search the live entries").fill("reset my password")
    await librarian.get_by_role("button", name="Search").click()
    await librarian.get_by_role("link", name=CHOSEN).click()  # the entry, in the editor
    learned = librarian.locator("#learned-phrasings")
    await expect(learned.locator(".learned-phrasings li q")).to_have_text(UNSURE)

    await learned.get_by_role("button", name="Remove").click()

    await expect(librarian.get_by_role("status")).to_contain_text("no longer finds its entry")
    await librarian.get_by_role("link", name=CHOSEN).click()
    await expect(librarian.locator("#learned-phrasings")).to_contain_text("No learned phrasings.")
    await librarian.goto(f"{stack.url}/dashboard/o/{demo.tenant_id}/knowledge/learned")
    await expect(librarian.locator("#learned")).to_contain_text("Nothing learned yet.")
    await context.close()
