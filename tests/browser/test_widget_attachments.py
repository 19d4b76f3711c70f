"""Attachments in the widget, in real headless Chromium (T-102): the customer attaches a photo,
which shows as the server's thumbnail with a download link; an agent's PDF arrives as a link;
its link turned to another conversation's file, or past its expiry, opens a 404; an SVG is
refused and the widget says why."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, expect

from parlour.chat.attachment_links import Kind
from parlour.chat.models import ConversationStatus
from parlour.services import Services
from tests.browser.test_demo_widget import WAIT_MS, Demo, ask, browser, demo  # noqa: F401
from tests.conftest import Stack
from tests.support import files
from tests.support.seed import ACTOR

pytestmark = pytest.mark.browser


async def test_t102_attachments_go_both_ways_in_the_widget_with_thumbnails(
    stack: Stack,
    demo: Demo,  # noqa: F811
    browser: Browser,  # noqa: F811
    tmp_path: Path,
) -> None:
    """T-102: the photo is shown only as the thumbnail Parlour drew (its original a download
    link), the agent's PDF as a link, and an SVG is refused, the refusal readable across
    origins."""
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "What are your opening hours?")
    await expect(page.locator(".msg.assistant")).to_have_count(1, timeout=WAIT_MS)

    photo = tmp_path / "card.jpg"
    photo.write_bytes(files.jpeg_with_exif())
    await page.locator("input[type=file]").set_input_files(str(photo))
    image = page.locator(".msg.user .files img")
    await expect(image).to_have_count(1, timeout=WAIT_MS)
    assert "/thumbnail?" in (await image.get_attribute("src") or "")
    await image.evaluate(
        "img => img.complete ? null : new Promise(r => img.addEventListener('load', r))"
    )
    assert 0 < await image.evaluate("img => img.naturalWidth") <= 320
    link = page.locator(".msg.user .files a")
    assert "/original?" in (await link.get_attribute("href") or "")

    # The photo's link, its id swapped for a file of another conversation, opens nothing; so
    # does a link to the photo whose lifetime has run out.
    photo_link = await link.get_attribute("href") or ""
    tenant_id, photo_id = urlsplit(photo_link).path.split("/")[3:5]

    async def others_file_and_an_expired_link(services: Services) -> tuple[str, str, str]:
        (mine,) = await services.chat.with_status(tenant_id, ConversationStatus.BOT, limit=5)
        other = await services.chat.open_conversation(tenant_id, "another-customer")
        theirs = await services.attachments.upload(
            tenant_id, other.conversation_id, "theirs.pdf", files.pdf(), actor=ACTOR
        )
        links = services.chat.links
        lifetime, links.link_lifetime = links.link_lifetime, timedelta(seconds=-1)
        try:
            expired = links.link(tenant_id, mine.conversation_id, photo_id, Kind.ORIGINAL)
        finally:
            links.link_lifetime = lifetime
        return mine.conversation_id, theirs.attachment_id, expired

    conversation_id, theirs_id, expired = await stack.on_the_server(others_file_and_an_expired_link)
    viewer = await browser.new_page()
    for url in (photo_link.replace(f"/{photo_id}/", f"/{theirs_id}/"), expired):
        answer = await viewer.goto(url)
        assert answer is not None
        assert answer.status == 404, url
    fresh = await viewer.request.get(photo_link)
    assert fresh.status == 200
    await viewer.close()

    async def reply_with_a_pdf(services: Services) -> None:
        stored = await services.attachments.upload(
            demo.tenant_id, conversation_id, "statement.pdf", files.pdf(), actor=ACTOR
        )
        await services.desk.reply(
            demo.tenant_id,
            conversation_id,
            "Your statement",
            actor=ACTOR,
            attachment_ids=[stored.attachment_id],
        )

    await stack.on_the_server(reply_with_a_pdf)
    sent = page.locator(".msg.agent .files a")
    await expect(sent).to_have_text("statement.pdf", timeout=WAIT_MS)
    assert await page.locator(".msg.agent .files img").count() == 0

    svg = tmp_path / "logo.svg"
    svg.write_bytes(files.SVG)
    await page.locator("input[type=file]").set_input_files(str(svg))
    await expect(page.locator(".status")).to_have_text(
        "Only images (PNG, JPEG, WebP, GIF) and PDF files can be attached.", timeout=WAIT_MS
    )
    # The refusal is readable cross-origin (its 415 is the browser's only console line).
    assert all("415" in e for e in demo.console_errors), demo.console_errors
