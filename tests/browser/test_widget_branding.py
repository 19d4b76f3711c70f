"""The widget made the organisation's own, in real headless Chromium: an admin changes the
title, brand colour, launcher side, language and logo on the dashboard's Widget page, sees them
at once in the live preview (the widget itself, drawn by `Parlour.preview` under the dashboard's
CSP), saves, and a customer opening the organisation's page then gets the widget so branded
(its config fetched from Parlour)."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, ConsoleMessage, expect

from parlour.identity.models import Role
from tests.browser.test_demo_widget import WAIT_MS, Demo, browser, demo  # noqa: F401
from tests.browser.test_desk import signed_in
from tests.conftest import Stack
from tests.support.desk import desk_member
from tests.support.images import image_bytes

pytestmark = pytest.mark.browser
BRAND = "rgb(11, 93, 30)"  # #0b5d1e
GREETING = "Bonjour ! Posez-nous vos questions."


def failed(message: ConsoleMessage) -> bool:
    """An error the page logged (a CSP refusal among them); not the browser's own look for a
    favicon, which neither page has."""
    return message.type == "error" and not message.location.get("url", "").endswith("favicon.ico")


async def test_branding_changed_on_the_dashboard_shows_in_the_preview_then_on_a_live_page(
    stack: Stack,
    demo: Demo,  # noqa: F811
    browser: Browser,  # noqa: F811
) -> None:
    admin = await desk_member(stack.services, demo.tenant_id, Role.ADMIN)
    page = await signed_in(browser, stack, admin.session_token)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if failed(m) else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(f"{stack.url}/dashboard/o/{demo.tenant_id}/widget")
    preview = page.locator("#widget-preview")
    # The preview draws the saved look (the defaults) before anything changes.
    await expect(preview.locator("header h2")).to_have_text("Chat with us", timeout=WAIT_MS)

    await page.get_by_label("Title").fill("Ask Brand Bank")
    await page.get_by_label("Greeting").fill(GREETING)
    await page.get_by_label("Brand colour").fill("#0b5d1e")
    await page.get_by_label("Bottom left").check()
    await page.get_by_label("Language").select_option("fr")
    await page.get_by_label("Logo", exact=False).set_input_files(
        {"name": "logo.png", "mimeType": "image/png", "buffer": image_bytes("PNG", (256, 256))}
    )
    # The preview follows every input, before anything is saved.
    await expect(preview.locator("header h2")).to_have_text("Ask Brand Bank")
    await expect(preview.get_by_text(GREETING)).to_be_visible()
    await expect(preview.locator("header")).to_have_css("background-color", BRAND)
    await expect(preview.locator(".root")).to_have_class(re.compile(r"\bleft\b"))
    await expect(preview.get_by_role("button", name="Parler à une personne")).to_be_visible()
    assert (await stack.services.widget_appearance.get(demo.tenant_id)).title != "Ask Brand Bank"

    await page.get_by_role("button", name="Save the widget").click()
    await expect(page.locator("p.notice")).to_contain_text("Saved")
    await expect(preview.locator("header img.logo")).to_be_visible()
    assert errors == []  # the preview runs under the dashboard's strict CSP

    # A customer arriving now (a browser that never cached the config) gets the new look.
    context = await browser.new_context()
    live = await context.new_page()
    live_errors: list[str] = []
    live.on("console", lambda m: live_errors.append(m.text) if failed(m) else None)
    await live.goto(demo.page.url)
    launcher = live.get_by_role("button", name="Ouvrir le chat")
    await expect(launcher).to_have_css("background-color", BRAND, timeout=WAIT_MS)
    box = await launcher.bounding_box()
    assert box is not None
    assert box["x"] < (live.viewport_size or {"width": 1280})["width"] / 2  # on the left
    await launcher.click()
    # The demo page names its widget itself (`Parlour.init({title})`), which wins over the
    # organisation's title; the rest is the organisation's.
    await expect(live.locator("[data-parlour-widget] header h2")).to_have_text("Demo Bank help")
    await expect(live.get_by_text(GREETING)).to_be_visible()
    await expect(live.locator("[data-parlour-widget] header")).to_have_css(
        "background-color", BRAND
    )
    logo = live.locator("[data-parlour-widget] header img.logo")
    widget_id = (await stack.services.tenants.get(demo.tenant_id)).widget_id
    logo_url = rf"^{re.escape(stack.url)}/widget/v1/logo/{widget_id}/[0-9a-f]{{64}}\.png$"
    await expect(logo).to_have_attribute("src", re.compile(logo_url))
    assert await logo.evaluate("img => img.complete && img.naturalWidth > 0")
    assert live_errors == []
    await context.close()
