"""The widget made the organisation's own, in real headless Chromium: its config (colour, title,
greeting, logo, side, hours message, features) applied before the launcher is drawn; the
language from the config, else the page; Arabic laid out right to left; the dashboard's preview;
full screen on a small screen; the focus where a keyboard user expects it.

The organisation's page here is served by a small site of the test's own, so its language can
be anything, and the widget's config URL is answered by the browser (a route), so the config
can be anything; the widget script is the one Parlour serves."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Route, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route as Path

from tests.browser import test_demo_widget as demo_widget
from tests.browser.test_demo_widget import WAIT_MS
from tests.conftest import Stack
from tests.support.servers import free_socket, start_threaded, url_of

pytestmark = pytest.mark.browser
browser = demo_widget.browser

BRAND = {
    "title": "Acme help",
    "greeting": "Hello! Ask us anything about your order.",
    "brand_colour": "#ffd400",
    "logo_url": "/static/logo.png",
    "launcher_position": "left",
    "hours_message": "We answer 9:00 to 17:00, Monday to Friday.",
    "features": {"attachments": False, "rating": True, "transcript": True, "person": False},
    "language": "auto",
}

Open = Callable[..., Awaitable[Page]]


@pytest.fixture
async def site(stack: Stack, browser: Browser) -> AsyncIterator[Open]:
    """open_site(lang=..., config=..., viewport=...): a page of the organisation's site with
    the widget started as a visitor; `config` is what the widget's config URL answers (None:
    the server's own answer)."""
    pages: list[Page] = []
    bodies: dict[str, str] = {}

    async def serve(request: Request) -> Response:
        return HTMLResponse(bodies[request.path_params["name"]])

    sock = free_socket()
    site_url = url_of(sock)
    server = start_threaded(lambda _url: (Starlette(routes=[Path("/{name}", serve)]), None), sock)

    async def open_site(
        lang: str = "en",
        config: dict[str, Any] | None = None,
        viewport: dict[str, int] | None = None,
        init: str = "",
    ) -> Page:
        page = await browser.new_page(viewport=viewport or {"width": 1280, "height": 800})
        pages.append(page)
        script = f"{stack.url}/widget/v1/parlour-widget.js"
        body = (
            f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
            f'<script src="{script}"></script></head><body><h1>Shop</h1>'
            f'<div id="preview" style="width:420px;height:700px"></div>'
            f"<script>{init}</script></body></html>"
        )

        name = f"page-{len(bodies)}"
        bodies[name] = body
        if config is not None:
            answer = json.dumps(config)

            async def serve_config(route: Route) -> None:
                await route.fulfill(
                    status=200,
                    content_type="application/json",
                    headers={"Access-Control-Allow-Origin": "*"},
                    body=answer,
                )

            await page.route("**/widget/v1/config/**", serve_config)
        await page.goto(f"{site_url}/{name}")
        return page

    yield open_site
    for page in pages:
        await page.close()
    server.stop()


def start(stack: Stack, title: str | None = None) -> str:
    options = f'server: "{stack.url}", widgetId: "wgt_look"'
    if title is not None:
        options += f", title: {json.dumps(title)}"
    return f"Parlour.init({{{options}}});"


async def test_the_organisations_colour_title_greeting_logo_side_and_hours_are_applied(
    stack: Stack, site: Open
) -> None:
    page = await site(config=BRAND, init=start(stack))
    launcher = page.get_by_role("button", name="Open chat")
    await expect(launcher).to_be_visible(timeout=WAIT_MS)
    # A light brand colour gets dark text, for contrast.
    colours = await launcher.evaluate(
        "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color]"
    )
    assert colours == ["rgb(255, 212, 0)", "rgb(28, 36, 51)"]
    box = await launcher.bounding_box()
    assert box is not None
    assert box["x"] < 640  # on the left, as configured
    await launcher.click()
    panel = page.get_by_role("dialog", name="Acme help")
    await expect(panel.locator("header h2")).to_have_text("Acme help")
    logo = panel.locator("header img.logo")
    assert await logo.get_attribute("src") == f"{stack.url}/static/logo.png"
    assert await logo.get_attribute("alt") == ""
    await expect(panel.locator(".greeting")).to_have_text(BRAND["greeting"])
    await expect(panel.locator(".msg")).to_have_count(0)  # the greeting is not a message
    await expect(panel.locator(".hours")).to_have_text(BRAND["hours_message"])
    panel_box = await panel.bounding_box()
    assert panel_box is not None
    assert panel_box["x"] < 640
    # "Talk to a person" is off: never shown.
    await expect(panel.get_by_role("button", name="Talk to a person")).to_have_count(0)
    assert await panel.locator("form").first.get_attribute("data-attachments") == "off"


async def test_an_explicit_title_wins_and_a_missing_config_leaves_the_defaults(
    stack: Stack, site: Open
) -> None:
    page = await site(init=start(stack, title="Shop help"))  # the server has no config: 404
    launcher = page.get_by_role("button", name="Open chat")
    await expect(launcher).to_be_visible(timeout=WAIT_MS)
    background = await launcher.evaluate("b => getComputedStyle(b).backgroundColor")
    assert background == "rgb(31, 95, 191)"
    box = await launcher.bounding_box()
    assert box is not None
    assert box["x"] > 640
    await launcher.click()
    await expect(page.get_by_role("dialog", name="Shop help")).to_be_visible()
    await expect(page.locator(".greeting")).to_have_count(0)


async def test_a_bad_logo_address_or_colour_is_ignored(stack: Stack, site: Open) -> None:
    config = {**BRAND, "logo_url": "javascript:alert(1)", "brand_colour": "red; x: y"}
    page = await site(config=config, init=start(stack))
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.locator("header h2")).to_have_text("Acme help")
    await expect(page.locator("header img")).to_have_count(0)
    background = await page.locator("header").evaluate("h => getComputedStyle(h).backgroundColor")
    assert background == "rgb(31, 95, 191)"


@pytest.mark.parametrize(
    ("lang", "open_label", "placeholder"),
    [
        ("fr", "Ouvrir le chat", "Posez votre question…"),
        ("de-AT", "Chat öffnen", "Stellen Sie Ihre Frage…"),
        ("es", "Abrir el chat", "Escriba su pregunta…"),
        ("hi", "चैट खोलें", "अपना प्रश्न लिखें…"),
        ("xx", "Open chat", "Type your question…"),
    ],
)
async def test_the_pages_language_picks_the_widgets(
    stack: Stack, site: Open, lang: str, open_label: str, placeholder: str
) -> None:
    page = await site(lang=lang, init=start(stack))
    launcher = page.get_by_role("button", name=open_label, exact=True)
    await launcher.click()
    await expect(page.locator("textarea")).to_have_attribute("placeholder", placeholder)
    assert (
        await page.locator("[data-parlour-widget]").evaluate(
            "host => host.shadowRoot.querySelector('.root').dir"
        )
        == "ltr"
    )


async def test_the_organisations_language_wins_over_the_pages(stack: Stack, site: Open) -> None:
    page = await site(lang="fr", config={**BRAND, "language": "de"}, init=start(stack))
    await expect(page.get_by_role("button", name="Chat öffnen")).to_be_visible(timeout=WAIT_MS)


async def test_arabic_lays_out_right_to_left(stack: Stack, site: Open) -> None:
    config = {**BRAND, "launcher_position": "right", "language": "ar"}
    page = await site(lang="en", config=config, init=start(stack))
    launcher = page.get_by_role("button", name="افتح المحادثة")
    await launcher.click()
    root = page.locator("[data-parlour-widget]")
    assert await root.evaluate("h => h.shadowRoot.querySelector('.root').dir") == "rtl"
    assert await root.evaluate("h => h.shadowRoot.querySelector('.root').lang") == "ar"
    # "right" is the end of the line: in Arabic, the left.
    box = await launcher.bounding_box()
    assert box is not None
    assert box["x"] < 640
    panel = page.get_by_role("dialog")
    direction = await panel.locator(".log").evaluate("n => getComputedStyle(n).direction")
    assert direction == "rtl"
    # The header reads from the right: the title right of the close button.
    title = await panel.locator("header h2").bounding_box()
    close = await panel.get_by_role("button", name="أغلق المحادثة").bounding_box()
    assert title is not None
    assert close is not None
    assert title["x"] > close["x"]
    await expect(page.locator("textarea")).to_have_attribute("placeholder", "اكتب سؤالك…")
    await expect(page.locator(".greeting")).to_have_css("text-align", "start")


async def test_on_a_small_screen_the_panel_covers_it(stack: Stack, site: Open) -> None:
    page = await site(viewport={"width": 390, "height": 760}, init=start(stack))
    await page.get_by_role("button", name="Open chat").click()
    box = await page.get_by_role("dialog").bounding_box()
    assert box == {"x": 0, "y": 0, "width": 390, "height": 760}


async def test_the_focus_goes_into_the_panel_and_back_and_escape_closes_it(
    stack: Stack, site: Open
) -> None:
    page = await site(init=start(stack))
    launcher = page.get_by_role("button", name="Open chat")
    await launcher.focus()
    await page.keyboard.press("Enter")
    box = page.get_by_role("textbox", name="Your message")
    await expect(box).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(page.get_by_role("dialog")).to_be_hidden()
    await expect(launcher).to_be_focused()
    await expect(launcher).to_have_attribute("aria-expanded", "false")


async def test_the_dashboards_preview_draws_the_config_and_draws_again_when_it_changes(
    site: Open,
) -> None:
    """Parlour.preview(element, config): the launcher and the open panel with sample messages,
    inside the element, with no socket and no request for a config."""
    requests: list[str] = []
    sockets: list[str] = []
    page = await site()
    page.on("request", lambda request: requests.append(request.url))
    page.on("websocket", lambda socket: sockets.append(socket.url))
    await page.evaluate(
        "c => { window.preview = Parlour.preview(document.querySelector('#preview'), c) }",
        BRAND,
    )
    host = page.locator("#preview")
    await expect(host.get_by_role("dialog", name="Acme help")).to_be_visible()
    await expect(host.locator(".greeting")).to_have_text(BRAND["greeting"])
    await expect(host.locator(".msg")).to_have_count(2)
    launcher = host.get_by_role("button", name="Open chat")
    colour = await launcher.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(255, 212, 0)"
    inside = await host.evaluate(
        """el => {
          const box = el.getBoundingClientRect();
          const shadow = el.querySelector('[data-parlour-widget]').shadowRoot;
          const panel = shadow.querySelector('.panel').getBoundingClientRect();
          return panel.left >= box.left && panel.right <= box.right;
        }"""
    )
    assert inside
    await page.evaluate(
        "config => window.preview.update(config)",
        {**BRAND, "brand_colour": "#0b6e4f", "title": "Acme", "language": "fr"},
    )
    await expect(host.get_by_role("dialog", name="Acme")).to_be_visible()
    await expect(host.locator("[data-parlour-widget]")).to_have_count(1)
    launcher = host.get_by_role("button", name="Ouvrir le chat")
    colour = await launcher.evaluate("b => getComputedStyle(b).backgroundColor")
    assert colour == "rgb(11, 110, 79)"
    assert not [url for url in requests if "/widget/v1/config/" in url]
    assert sockets == []
