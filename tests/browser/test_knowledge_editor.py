"""The knowledge editor in real headless Chromium (issue 23's acceptance): an administrator asks
the "try a question" console, edits the FAQ entry it answered from, and sees a new version live
and the console answering with the new text; the console shows the passages it found with
their scores, and the decision with its reason, abstaining included. Every page runs under the
dashboard's CSP without a violation or an error."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, ConsoleMessage, Page, expect

from parlour.identity.models import Role
from tests.browser.test_dashboard import log_in_and_enrol, shot
from tests.browser.test_demo_widget import WAIT_MS, browser  # noqa: F401
from tests.browser.test_reports import account
from tests.conftest import Stack
from tests.support import seed

pytestmark = pytest.mark.browser


@pytest.fixture
async def signed_in(
    stack: Stack,
    browser: Browser,  # noqa: F811
) -> AsyncIterator[tuple[Page, str, list[str]]]:
    """An administrator of an organisation with the sample FAQ, signed in: their page, the
    organisation, and what its console reports (errors and CSP violations)."""
    org = await seed.organisation(stack.services, name="Harbour Bank")
    email, _actor = await account(stack.services, org.tenant_id, Role.ADMIN)
    context = await browser.new_context()
    page = await context.new_page()
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # Every error and warning but the browser's own look for a favicon, which has none.
        favicon = message.location.get("url", "").endswith("/favicon.ico")
        if message.type in ("error", "warning") and not favicon:
            console.append(message.text)

    page.on("console", on_console)
    await log_in_and_enrol(page, stack.url, email, name=None)
    yield page, f"{stack.url}/dashboard/o/{org.tenant_id}/knowledge", console
    await context.close()


async def try_question(page: Page, base: str, question: str) -> None:
    await page.goto(f"{base}/try")
    await page.get_by_label("Question").fill(question)
    await page.get_by_role("button", name="Try it").click()
    await expect(page.locator("#decision")).to_be_visible(timeout=WAIT_MS)


async def test_editing_an_entry_makes_a_version_and_changes_the_answer(
    signed_in: tuple[Page, str, list[str]], stack: Stack
) -> None:
    page, base, console = signed_in
    await try_question(page, base, "What are your opening hours?")
    answer = page.locator("#answer-text")
    await expect(answer).to_have_text("We are open Monday to Friday, 9:00 to 17:00.")

    await page.get_by_role("link", name="Entries").click()
    await page.get_by_label("Search the live entries").fill("opening hours")
    await page.get_by_role("button", name="Search").click()
    await expect(page.locator("#entries-heading")).to_have_text("1 entry found")
    await page.get_by_role("link", name="What are your opening hours?").click()
    await page.get_by_label("Other ways customers ask it, one per line").fill(
        "when do you open\nwhat time do you close"
    )
    await page.get_by_label("Answer").fill("We are open every day, 8:00 to 20:00.")
    await shot(page, "knowledge-entry")
    await page.get_by_role("button", name="Save and publish").click()
    await expect(page.get_by_role("status")).to_contain_text("Saved in a new version, live now")
    await expect(page.locator("#entry-place")).to_contain_text("Live in version 2")
    await expect(page.get_by_label("Answer")).to_have_value("We are open every day, 8:00 to 20:00.")

    await page.get_by_role("link", name="Versions").click()
    await expect(page.locator("#version-2")).to_contain_text("live")
    await expect(page.get_by_role("button", name="Roll back to version 1")).to_be_visible()
    await shot(page, "knowledge-versions")
    await page.get_by_role("button", name="Compare").click()
    await expect(page.locator("#entry-changes")).to_contain_text("What are your opening hours?")
    await expect(page.locator("#entry-changes")).to_contain_text("8:00 to 20:00")
    await shot(page, "knowledge-diff")

    await try_question(page, base, "What time do you close?")  # a phrasing added by the edit
    await expect(answer).to_have_text("We are open every day, 8:00 to 20:00.")
    await shot(page, "knowledge-try-after-edit")
    versions = await stack.services.knowledge.versions(base.split("/")[-2])
    assert [(v.number, v.published) for v in versions] == [(2, True), (1, False)]
    assert [m for m in console if "Content Security Policy" in m] == []
    assert console == []


async def test_the_console_shows_the_passages_with_scores_and_why_it_would_abstain(
    signed_in: tuple[Page, str, list[str]],
) -> None:
    page, base, console = signed_in
    await try_question(page, base, "How do I block my card?")
    await expect(page.locator("#decision-heading")).to_have_text("Decision: answer")
    await expect(page.locator("#why")).to_contain_text("reached the confidence to answer")
    rows = page.locator("#passages tbody tr")
    await expect(rows.first).to_contain_text("How do I block my card?")
    await expect(rows.first.locator("td.confidence")).to_have_text("1.00")
    # Fused: at most 1, for the first of both lists (issue 23's dense weight 10, lexical 1).
    await expect(rows.first.locator("td.score")).to_have_text(re.compile(r"^[01]\.\d{4}$"))
    await expect(page.locator("#passages thead")).to_contain_text("Meaning (rank, similarity)")
    await shot(page, "knowledge-try-answer")

    await try_question(page, base, "Do you sell car insurance for vans?")
    await expect(page.locator("#decision-heading")).to_have_text("Decision: abstain")
    await expect(page.locator("#why")).to_contain_text("below the 0.60 needed to answer")
    await expect(page.locator("#answer-text")).to_have_text(
        "No answer: the customer would be offered a person."
    )
    await expect(page.locator("#outcome")).to_contain_text("abstained (no_confident_knowledge)")
    await shot(page, "knowledge-try-abstain")
    assert console == []
