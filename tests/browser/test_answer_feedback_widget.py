"""Thumbs on answers in real headless Chromium (issue 23): under the assistant's answer the
widget offers a thumbs up and a thumbs down, accessible buttons; a click on thumbs down shows
the choice, disables the pair (the first stands), and the server keeps it with the answer's turn
and sends the question to the knowledge gaps as answered but unhelpful."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import expect
from sqlalchemy import select

from parlour.knowledge.models import GapKind
from parlour.storage.tables import assistant_turns
from tests.browser import test_demo_widget as demo_widget
from tests.browser.test_demo_widget import WAIT_MS, Demo, ask

pytestmark = pytest.mark.browser
# The demo's fixtures: its page with the widget, in Chromium.
browser = demo_widget.browser
demo = demo_widget.demo


async def test_a_thumbs_down_on_an_answer_is_shown_kept_and_sent_to_the_gaps(demo: Demo) -> None:
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "How do I reset my password?")
    answer = page.locator(".msg.assistant")
    await expect(answer).to_have_count(1, timeout=WAIT_MS)
    pair = answer.get_by_role("group", name="Was this answer helpful?")
    up = pair.get_by_role("button", name="Helpful (thumbs up)")
    down = pair.get_by_role("button", name="Not helpful (thumbs down)")
    await expect(up).to_have_attribute("aria-pressed", "false")
    await expect(down).to_have_attribute("aria-pressed", "false")

    await down.click()

    await expect(down).to_have_attribute("aria-pressed", "true")
    await expect(up).to_have_attribute("aria-pressed", "false")
    await expect(up).to_be_disabled()
    await expect(down).to_be_disabled()
    await expect(page.get_by_role("status")).to_have_text(
        "Thank you for your feedback.", timeout=WAIT_MS
    )
    await expect(pair).to_have_attribute("data-saved", "down")
    answer_id = await pair.get_attribute("data-answer-id")
    services = demo.services
    async with services.db.read(demo.tenant_id) as conn:
        thumbs = await conn.scalar(
            select(assistant_turns.c.thumbs).where(
                assistant_turns.c.tenant_id == demo.tenant_id,
                assistant_turns.c.message_id == answer_id,
            )
        )
    assert thumbs == "down"
    now = services.clock()
    week = timedelta(days=7)
    gaps = await services.knowledge.gaps.clusters(demo.tenant_id, now - week, now + week)
    assert [(c.label.question, c.label.kind) for c in gaps.clusters] == [
        ("How do I reset my password?", GapKind.UNHELPFUL)
    ]
    assert demo.console_errors == []
