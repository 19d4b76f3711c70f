"""The live desk in real headless Chromium (docs/desk.md): the Inbox and a conversation's page
update over the members' desk socket, without a reload, under the dashboard's CSP."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from parlour.services import Services
from tests.browser.test_demo_widget import WAIT_MS, browser  # noqa: F401
from tests.conftest import Stack, running_stack
from tests.support import seed
from tests.support.accounts import COOKIE
from tests.support.chat import authenticate, open_socket, receive_until, say
from tests.support.clock import ManualClock
from tests.support.desk import desk_member

pytestmark = pytest.mark.browser


async def signed_in(browser: Browser, stack: Stack, token: str) -> Page:  # noqa: F811
    """A page in a new browser context holding the member's session cookie."""
    context = await browser.new_context()
    await context.add_cookies(
        [
            {
                "name": COOKIE,
                "value": token,
                "domain": "127.0.0.1",
                "path": "/",
                "secure": True,
                "httpOnly": True,
                "sameSite": "Strict",
            }
        ]
    )
    return await context.new_page()


async def test_the_inbox_shows_a_customer_who_asks_for_a_person_without_a_reload(
    stack: Stack,
    browser: Browser,  # noqa: F811
) -> None:
    """The agent's Inbox is open and empty; a customer asks for a person: the row appears in
    "Waiting for a person". Their message then counts as unread in the row and the tab's title;
    on the conversation's page it appears, with the customer's typing, and the agent's typing
    reaches the customer. No page is reloaded (T-97: the socket opens from the dashboard's own
    page, on its cookie) (a marker set on each page survives), and the
    page breaks no rule of its CSP."""
    org = await seed.organisation(stack.services, faq=None)
    ada = await desk_member(stack.services, org.tenant_id)
    agent = await signed_in(browser, stack, ada.session_token)
    violations: list[str] = []
    agent.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    await agent.goto(f"{stack.url}/dashboard/o/{org.tenant_id}/inbox")
    await expect(agent.locator("#no-queued")).to_be_visible()
    await agent.evaluate("window.__not_reloaded = true")

    async with open_socket(stack.ws_url, org.widget_id, org.origin) as customer:
        await authenticate(customer, await seed.token_for(stack.services, org, "customer-7"))
        # The socket is open before the customer asks (the page said hello).
        await expect(agent.locator("#live")).to_be_hidden()
        await customer.send(json.dumps({"type": "handoff"}))
        row = agent.locator("#queued tbody tr")
        await expect(row).to_have_count(1, timeout=WAIT_MS)
        await expect(row.first).to_contain_text("customer-7")
        await expect(agent.locator("#no-queued")).to_be_hidden()

        await say(customer, "My card <b>is</b> blocked")
        await expect(row.first.locator("td.unread")).to_have_text("1 new", timeout=WAIT_MS)
        await expect(agent).to_have_title("(1) Inbox · Parlour")
        assert await agent.evaluate("window.__not_reloaded") is True

        await row.first.get_by_role("link").click()
        await expect(agent.locator("#messages")).to_contain_text("My card <b>is</b> blocked")
        await agent.evaluate("window.__not_reloaded = true")
        await say(customer, "Are you there?")
        await expect(agent.locator("#messages li").last).to_contain_text(
            "Are you there?", timeout=WAIT_MS
        )
        await customer.send(json.dumps({"type": "typing", "state": True}))
        await expect(agent.locator("#typing")).to_have_text(
            "The customer is typing…", timeout=WAIT_MS
        )
        await agent.get_by_label("Your reply").press_sequentially("Hel")
        heard = await receive_until(customer, lambda f: f["type"] == "typing")
        assert heard[-1] == {"type": "typing", "author": "agent", "state": True}
        # The page read what it showed (the customer heard so): back in the Inbox, nothing is
        # unread.
        assert {"type": "read", "seq": 3, "by": "agent"} in heard
        assert await agent.evaluate("window.__not_reloaded") is True

    await agent.goto(f"{stack.url}/dashboard/o/{org.tenant_id}/inbox")
    await expect(agent.locator("#queued tbody tr td.unread")).to_have_text("")
    await expect(agent).to_have_title("Inbox · Parlour")
    assert violations == []
    await agent.context.close()


async def test_a_page_whose_session_ended_stops_its_live_updates_and_says_so(
    tmp_path: Path,
    sqlite_url: str,
    browser: Browser,  # noqa: F811
) -> None:
    """T-97 in the browser: the member logs out elsewhere; at the next re-check the Inbox's
    socket is closed, its one attempt to reconnect is refused, and the page says to reload."""
    clock = ManualClock()
    async with running_stack(tmp_path, sqlite_url, clock=clock) as stack:
        org = await seed.organisation(stack.services, faq=None)
        ada = await desk_member(stack.services, org.tenant_id)
        agent = await signed_in(browser, stack, ada.session_token)
        await agent.goto(f"{stack.url}/dashboard/o/{org.tenant_id}/inbox")
        await expect(agent.locator("#no-queued")).to_be_visible()
        # The socket is open once a customer's arrival shows.
        async with open_socket(stack.ws_url, org.widget_id, org.origin) as customer:
            await authenticate(customer, await seed.token_for(stack.services, org))
            await customer.send(json.dumps({"type": "handoff"}))
            await expect(agent.locator("#queued tbody tr")).to_have_count(1, timeout=WAIT_MS)
        await stack.services.sessions.log_out(ada.session_token)
        clock.advance(timedelta(seconds=stack.services.settings.gateway.desk_revalidate_seconds))
        await expect(agent.locator("#live")).to_contain_text(
            "Live updates stopped", timeout=WAIT_MS
        )
        await expect(agent.locator("#live")).to_contain_text("Reload the page.")
        await agent.context.close()


async def test_a_colleagues_assignment_moves_the_row_and_updates_the_conversations_page_live(
    stack: Stack,
    browser: Browser,  # noqa: F811
) -> None:
    """Ada has the Inbox open, Bo the same conversation's page; Cy takes the conversation from
    her own page: Ada's row moves from "Waiting for a person" to "Assigned" (to a colleague),
    and Bo's page says it is assigned to a colleague, with the steps that fit, unreloaded."""
    org = await seed.organisation(stack.services, faq=None)
    ada, bo, cy = [await desk_member(stack.services, org.tenant_id) for _ in range(3)]
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as customer:
        ready = await authenticate(customer, await seed.token_for(stack.services, org))
        await customer.send(json.dumps({"type": "handoff"}))
        await receive_until(customer, lambda f: f["type"] == "handoff")
    conversation = f"{stack.url}/dashboard/o/{org.tenant_id}/inbox/{ready['conversation_id']}"
    inbox = await signed_in(browser, stack, ada.session_token)
    await inbox.goto(f"{stack.url}/dashboard/o/{org.tenant_id}/inbox")
    await expect(inbox.locator("#queued tbody tr")).to_have_count(1)
    watching = await signed_in(browser, stack, bo.session_token)
    await watching.goto(conversation)
    await expect(watching.locator("#status")).to_have_text("Waiting for a person.")
    for page in (inbox, watching):
        await page.evaluate("window.__not_reloaded = true")
    # Both sockets are open once a customer's typing shows on Bo's page.
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as customer:
        await authenticate(customer, await seed.token_for(stack.services, org))
        await customer.send(json.dumps({"type": "typing", "state": True}))
        await expect(watching.locator("#typing")).to_be_visible(timeout=WAIT_MS)

    taker = await signed_in(browser, stack, cy.session_token)
    await taker.goto(conversation)
    await taker.get_by_role("button", name="Assign to me").click()
    await expect(taker.locator("#status")).to_have_text("Assigned to you.")

    await expect(inbox.locator("#assigned tbody tr")).to_have_count(1, timeout=WAIT_MS)
    await expect(inbox.locator("#assigned tbody tr td").nth(1)).to_have_text("A colleague")
    await expect(inbox.locator("#no-queued")).to_be_visible()
    await expect(watching.locator("#status")).to_have_text(
        "Assigned to a colleague.", timeout=WAIT_MS
    )
    await expect(watching.get_by_role("button", name="Unassign")).to_be_visible()
    await expect(watching.get_by_role("button", name="Assign to me")).to_have_count(0)
    await expect(watching.locator("#messages li").last).to_contain_text("A person joined.")
    for page in (inbox, watching):
        assert await page.evaluate("window.__not_reloaded") is True
    for page in (inbox, watching, taker):
        await page.context.close()


async def test_a_conversations_forms_go_in_place_and_an_error_shows_without_a_reload(
    stack: Stack,
    browser: Browser,  # noqa: F811
) -> None:
    """On a conversation's page a note of nothing but spaces is refused by the server: its
    error shows above the reply, the text kept, the page not reloaded. Handing the
    conversation back to the assistant goes to the Inbox, where the form would have gone."""
    org = await seed.organisation(stack.services, faq=None)
    ada = await desk_member(stack.services, org.tenant_id)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as customer:
        ready = await authenticate(customer, await seed.token_for(stack.services, org))
        await customer.send(json.dumps({"type": "handoff"}))
        await receive_until(customer, lambda f: f["type"] == "handoff")
    agent = await signed_in(browser, stack, ada.session_token)
    inbox = f"{stack.url}/dashboard/o/{org.tenant_id}/inbox"
    await agent.goto(f"{inbox}/{ready['conversation_id']}")
    await agent.evaluate("window.__not_reloaded = true")

    await agent.get_by_label("Private note").fill("   ")
    await agent.get_by_role("button", name="Add note").click()
    await expect(agent.get_by_role("alert")).to_have_text(
        "a message needs some text", timeout=WAIT_MS
    )
    await expect(agent.get_by_label("Private note")).to_have_value("   ")
    await expect(agent.locator("#messages li.private-note")).to_have_count(0)
    assert await agent.evaluate("window.__not_reloaded") is True

    await agent.get_by_role("button", name="Hand back to the assistant").click()
    await expect(agent).to_have_url(inbox, timeout=WAIT_MS)
    await agent.context.close()


async def test_without_javascript_a_conversations_forms_post_and_show_the_page_again(
    stack: Stack,
    browser: Browser,  # noqa: F811
) -> None:
    """The forms work as plain forms: the reply and the step are posted, and the page comes
    back with them."""
    org = await seed.organisation(stack.services, faq=None)
    ada = await desk_member(stack.services, org.tenant_id)
    async with open_socket(stack.ws_url, org.widget_id, org.origin) as customer:
        ready = await authenticate(customer, await seed.token_for(stack.services, org))
        await customer.send(json.dumps({"type": "handoff"}))
        await receive_until(customer, lambda f: f["type"] == "handoff")
        context = await browser.new_context(java_script_enabled=False)
        await context.add_cookies(
            [
                {
                    "name": COOKIE,
                    "value": ada.session_token,
                    "domain": "127.0.0.1",
                    "path": "/",
                    "secure": True,
                    "httpOnly": True,
                    "sameSite": "Strict",
                }
            ]
        )
        agent = await context.new_page()
        await agent.goto(
            f"{stack.url}/dashboard/o/{org.tenant_id}/inbox/{ready['conversation_id']}"
        )
        await agent.get_by_role("button", name="Assign to me").click()
        await expect(agent.locator("#status")).to_have_text("Assigned to you.")
        await agent.get_by_label("Your reply").fill("Plain forms still work.")
        await agent.get_by_role("button", name="Send").click()
        await expect(agent.locator("#messages li.agent")).to_contain_text("Plain forms still work.")
        heard = await receive_until(customer, lambda f: f["type"] == "message")
        assert heard[-1]["text"] == "Plain forms still work."
        await context.close()


async def test_an_inbox_showing_one_team_takes_that_teams_conversations_live_and_no_others(
    stack: Stack,
    browser: Browser,  # noqa: F811
) -> None:
    """Filtered to a team, the Inbox adds a conversation put in that team's queue, with the
    team's name, and leaves out one put in another team's."""
    services = stack.services
    org = await seed.organisation(services, faq=None)
    ada = await desk_member(services, org.tenant_id)
    cards = await services.teams.create(org.tenant_id, "Cards", actor=seed.ACTOR)
    loans = await services.teams.create(org.tenant_id, "Loans", actor=seed.ACTOR)
    agent = await signed_in(browser, stack, ada.session_token)
    await agent.goto(f"{stack.url}/dashboard/o/{org.tenant_id}/inbox?team={cards.team_id}")
    await expect(agent.locator("#no-queued")).to_be_visible()
    await expect(agent.locator('#desk[data-live="on"]')).to_have_count(1, timeout=WAIT_MS)

    async def queued_in(served: Services, customer: str, team_id: str) -> None:
        opened = await served.chat.open_conversation(org.tenant_id, customer)
        await served.teams.place(org.tenant_id, opened.conversation_id, team_id, actor=seed.ACTOR)
        await served.chat.request_handoff(org.tenant_id, opened.conversation_id)

    # On the server's own services: its broker is the one the agent's desk socket hears.
    await stack.on_the_server(lambda s: queued_in(s, "for-loans", loans.team_id))
    await stack.on_the_server(lambda s: queued_in(s, "for-cards", cards.team_id))
    rows = agent.locator("#queued tbody tr")
    await expect(rows).to_have_count(1, timeout=WAIT_MS)
    await expect(rows.first.locator("td.customer")).to_have_text("for-cards")
    await expect(rows.first.locator("td.team")).to_have_text("Cards")
