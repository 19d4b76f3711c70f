"""Accessibility in real headless Chromium (issue 24): axe-core finds no serious or critical
violation of WCAG 2.0/2.1 A and AA or of its best practices on any dashboard page, or on the
widget of the demo page, closed and open in each of its states.

Every dashboard page is found, not listed: each GET route of the dashboard's routers that names
no file (`….json`, `….csv`, the static assets) is a page, audited as the person its access policy
admits (no one for a public page, someone part-way through login, a platform operator, or the
organisation's owner), with its path parameters taken from the seeded organisation, which has a
conversation with an agent's reply and a note, another waiting for a person, two knowledge
versions, members and an invitation (whose link opens the invitation page), a team and a canned
reply. A page whose path names a parameter the seed does not know fails, saying which. Pages
only a form leads to (its answer, its refusal), canned replies offered as an agent types, and
the error page are audited along the way a person takes to them.

axe runs as an init script (tests/support/accessibility.py), outside the pages' CSP, which stays
as served: no `bypass_csp`, and the test checks no page reports a CSP violation.

Past 400 lines as one specification: the audit, its helpers to reach each page and each state
of the widget, and the states audited.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import pytest_asyncio
from fastapi.routing import APIRoute
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    WebSocketRoute,
    async_playwright,
    expect,
)

from parlour.audit.events import Actor, ActorType
from parlour.demo import prepare_demo_organisation
from parlour.identity.models import Membership, PlatformRole, Role, Stage
from parlour.web.dashboard import ROUTERS
from parlour.web.deps import route_policies
from parlour_demo_client.app import create_demo_client
from tests.browser.test_dashboard import confirm_enrolment
from tests.browser.test_demo_widget import CHROMIUM_ARGS, WAIT_MS, ask, chromium_path, customer
from tests.conftest import Stack, running_stack
from tests.support import canaries
from tests.support.accessibility import assert_accessible, violations, with_axe
from tests.support.accounts import COOKIE, PASSWORD, mailed_token, with_current_code
from tests.support.desk import desk_member
from tests.support.seed import ACTOR, SAMPLE_FAQ
from tests.support.servers import ThreadedServer, free_socket, start_threaded, url_of

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

# Answer at 0.6 and above; offer choices between 0.3 and 0.6 (tests/browser/test_choices_widget).
MIDDLE_BAND = {"min_confidence": 0.6, "min_offer_confidence": 0.3}
UNSURE = "I can't get into my account"


def dashboard_pages() -> list[APIRoute]:
    """Every GET route of the dashboard that serves a page rather than a file."""
    routes = [
        route
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        and "GET" in route.methods
        and "." not in route.path.rsplit("/", 1)[-1]
    ]
    return sorted(routes, key=lambda route: route.path)


# A few pages again with a query that fills them: a comparison of two versions, a search's hits.
WITH_QUERIES = {
    "/dashboard/o/{tenant_id}/knowledge/diff": "?since=1&to=2",
    "/dashboard/o/{tenant_id}/knowledge/entries": "?q=card",
    "/dashboard/o/{tenant_id}/search": "?q=card",
}
PAGES = [(route, "") for route in dashboard_pages()] + [
    (route, WITH_QUERIES[route.path]) for route in dashboard_pages() if route.path in WITH_QUERIES
]


@dataclass
class Site:
    """The seeded organisation on a running server, the demo page that embeds its widget, and
    a browser context (axe in every page) for each kind of visitor."""

    stack: Stack
    browser: Browser
    demo_url: str
    tenant_id: str
    params: dict[str, str]
    queries: dict[str, str]
    visitors: dict[str, BrowserContext] = field(default_factory=dict)
    agent: Actor | None = None

    def visitor_of(self, route: APIRoute) -> BrowserContext:
        (policy,) = route_policies(route.dependant)
        kind = policy.split(":")[0]
        return self.visitors["owner" if kind in ("member", "signed_in") else kind]


async def opened(context: BrowserContext) -> tuple[Page, list[str]]:
    """A new page of `context`, and the CSP violations its console will report."""
    page = await context.new_page()
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return page, refused


async def signed_in(browser: Browser, token: str | None) -> BrowserContext:
    """A context holding `token` as the session cookie (none for a public page's visitor)."""
    context = await with_axe(await browser.new_context())
    if token is not None:
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
    return context


async def seeded(
    stack: Stack, tenant_id: str, owner: Actor
) -> tuple[dict[str, str], dict[str, str]]:
    """Something on every list of the organisation's pages; the path parameters of its pages,
    and the query of a page that is an error without one."""
    services = stack.services
    invited = f"invited-{secrets.token_hex(4)}@example.com"
    await services.members.invite(
        tenant_id,
        invited,
        Role.AGENT,
        by=Membership(owner.id, tenant_id, Role.OWNER),
        actor=owner,
    )
    token = mailed_token(services.settings.data_dir / "outbox", invited)
    await services.knowledge.import_faq_csv(tenant_id, SAMPLE_FAQ, actor=ACTOR)  # version 2
    listed = await services.knowledge.editor.page(tenant_id, "", page=1)
    await services.teams.create(tenant_id, "Cards", actor=owner)
    await services.canned_replies.create(
        tenant_id, "hours", "We are open 8:00 to 20:00 every day.", actor=owner
    )
    waiting = await services.chat.open_conversation(tenant_id, "customer-waiting")
    await services.chat.post_user_message(
        tenant_id, waiting.conversation_id, client_id="w1", text="Can a person call me?"
    )
    await services.chat.request_handoff(tenant_id, waiting.conversation_id)
    answered = await services.chat.open_conversation(tenant_id, "customer-answered")
    conversation_id = answered.conversation_id
    await services.chat.post_user_message(
        tenant_id, conversation_id, client_id="a1", text="My card is blocked"
    )
    await services.chat.request_handoff(tenant_id, conversation_id)
    await services.desk.reply(tenant_id, conversation_id, "I can help with that.", actor=owner)
    await services.notes.add(tenant_id, conversation_id, "Card unfrozen.", actor=owner)
    params = {
        "tenant_id": tenant_id,
        "conversation_id": conversation_id,
        "entry_id": listed.rows[0].entry.entry_id,
    }
    return params, {"/dashboard/invitation": f"?token={canaries.register(token)}"}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def site(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Site]:
    tmp_path = tmp_path_factory.mktemp("accessibility")
    sqlite_url = f"sqlite+aiosqlite:///{tmp_path / 'parlour.db'}"
    async with (
        running_stack(tmp_path, sqlite_url, assistant=MIDDLE_BAND) as stack,
        async_playwright() as playwright,
    ):
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )
        services = stack.services
        sock = free_socket()
        demo_url = url_of(sock)
        organisation = await prepare_demo_organisation(services, [demo_url])
        client = create_demo_client(
            parlour_url=stack.url,
            widget_id=organisation.widget_id,
            api_key=organisation.api_key,
            own_origin=demo_url,
        )
        demo_server: ThreadedServer = start_threaded(lambda _url: (client, None), sock)
        tenant_id = organisation.tenant_id
        owner = await desk_member(services, tenant_id, Role.OWNER)
        operator_email = f"operator-{secrets.token_hex(4)}@example.com"
        operator = await desk_member(services, tenant_id, Role.ANALYST, email=operator_email)
        await services.platform_staff.set_role(operator_email, PlatformRole.OPERATOR, actor=ACTOR)
        signing_in = f"signing-in-{secrets.token_hex(4)}@example.com"
        await services.signup.sign_up(signing_in, PASSWORD, "Signing in", source_ip=None)
        account = await services.accounts.by_email(signing_in)
        assert account is not None
        async with services.db.transaction() as conn:
            pending = await services.sessions.issue(
                conn, account.account_id, Stage.MFA_ENROLMENT, None
            )
        agent = await services.accounts.by_email(organisation.agent_email)
        assert agent is not None
        owner_actor = Actor(ActorType.ACCOUNT, owner.account_id)
        site = Site(
            stack,
            browser,
            demo_url,
            tenant_id,
            *await seeded(stack, tenant_id, owner_actor),
            {
                "public": await signed_in(browser, None),
                "signing_in": await signed_in(browser, canaries.register(pending.token)),
                "owner": await signed_in(browser, owner.session_token),
                "platform": await signed_in(browser, operator.session_token),
            },
            Actor(ActorType.ACCOUNT, agent.account_id),
        )
        try:
            yield site
        finally:
            await browser.close()
            demo_server.stop()


async def test_the_audit_finds_what_it_should(site: Site) -> None:
    """The audit itself: on a page with a nameless button and grey on grey text, axe (as these
    tests run it) reports both, so a page with no finding was audited, not skipped."""
    page, _ = await opened(site.visitors["public"])
    await page.set_content(
        '<html lang="en"><title>t</title><main><button></button>'
        '<p style="color:#bbb;background:#ccc">faint</p></main></html>'
    )
    found = {violation["id"] for violation in await violations(page)}
    assert {"button-name", "color-contrast"} <= found
    await page.close()


def filled(path: str, params: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in params:
            pytest.fail(
                f"{path} takes {{{name}}}, which the seed does not know: add it to seeded() in "
                f"{Path(__file__).name}",
                pytrace=False,
            )
        return params[name]

    return re.sub(r"\{(\w+)\}", value, path)


@pytest.mark.parametrize(
    ("route", "query"), PAGES, ids=[route.path + query for route, query in PAGES]
)
async def test_every_dashboard_page_has_no_serious_or_critical_violation(
    site: Site, route: APIRoute, query: str
) -> None:
    page, refused = await opened(site.visitor_of(route))
    query = query or site.queries.get(route.path, "")
    url = site.stack.url + filled(route.path, site.params) + query
    answer = await page.goto(url)
    assert answer is not None
    assert answer.status == 200, (url, answer.status, page.url)
    assert answer.headers["content-type"].startswith("text/html")
    assert "/dashboard/login" not in page.url or "/dashboard/login" in url, page.url
    await page.wait_for_load_state("load")
    await assert_accessible(page, route.path + query)
    assert refused == []
    await page.close()


async def test_the_pages_forms_lead_to_have_none(site: Site) -> None:
    """Pages a GET does not reach: a form's answer (the mail is on its way, the setup code, the
    recovery codes, a question tried), a refused form, canned replies offered as an agent types,
    and the error page."""
    url = site.stack.url
    context = await with_axe(await site.browser.new_context())
    page, refused = await opened(context)
    email = f"new-{secrets.token_hex(4)}@example.com"
    await page.goto(f"{url}/dashboard/signup")
    await page.get_by_label("Organisation name").fill("Harbour Bank")
    await page.get_by_label("Your work e-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()
    await assert_accessible(page, "the sign-up's answer")

    outbox = site.stack.services.settings.data_dir / "outbox"
    token = canaries.register(mailed_token(outbox, email))
    await page.goto(f"{url}/dashboard/verify-email?token={token}")
    await page.get_by_role("button", name="Confirm my address").click()
    await expect(page.get_by_role("status")).to_contain_text("Your address is confirmed")
    await assert_accessible(page, "the login page with a notice")

    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await assert_accessible(page, "a refused login")

    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_role("button", name="Show my setup code").click()
    await expect(page.get_by_role("img", name="QR code")).to_be_visible()
    await assert_accessible(page, "the setup code")
    await page.get_by_label("The 6-digit code").fill("000000")
    await page.get_by_role("button", name="Turn on two-step login").click()
    await expect(page.get_by_role("alert")).to_be_visible()
    await assert_accessible(page, "a refused setup code")
    seed = await page.locator("#seed").inner_text()
    await with_current_code(seed, lambda code: confirm_enrolment(page, code), accepted=bool)
    await expect(page.locator("#recovery-codes li")).to_have_count(10)
    await assert_accessible(page, "the recovery codes")
    assert refused == []
    await context.close()

    owner, refused = await opened(site.visitors["owner"])
    await owner.goto(f"{url}/dashboard/o/{site.tenant_id}/knowledge/try")
    await owner.get_by_label("Question").fill("How do I block my card?")
    await owner.get_by_role("button", name="Try it").click()
    await expect(owner.locator("#decision")).to_be_visible()
    await assert_accessible(owner, "a question tried")
    conversation = f"{url}/dashboard/o/{site.tenant_id}/inbox/{site.params['conversation_id']}"
    await owner.goto(conversation)
    await owner.get_by_label("Your reply").press_sequentially("/ho")
    await expect(owner.get_by_role("listbox", name="Canned replies")).to_be_visible()
    await assert_accessible(owner, "a conversation offering canned replies")
    answer = await owner.goto(f"{url}/dashboard/o/{site.tenant_id}/inbox/no-such-conversation")
    assert answer is not None
    assert answer.status == 404
    await assert_accessible(owner, "the error page")
    assert refused == []
    await owner.close()


async def open_widget(site: Site) -> Page:
    page, _ = await opened(await with_axe(await site.browser.new_context()))
    await page.goto(site.demo_url)
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.get_by_role("textbox", name="Your message")).to_be_visible()
    return page


async def test_the_closed_widget_has_no_serious_or_critical_violation(site: Site) -> None:
    page, refused = await opened(await with_axe(await site.browser.new_context()))
    await page.goto(site.demo_url)
    await expect(page.get_by_role("button", name="Open chat")).to_be_enabled()
    await assert_accessible(page, "the demo page, its widget closed")
    assert refused == []
    await page.context.close()


async def test_the_widget_on_a_small_screen_closed_and_open_has_none(site: Site) -> None:
    context = await with_axe(await site.browser.new_context(viewport={"width": 360, "height": 640}))
    page, refused = await opened(context)
    await page.goto(site.demo_url)
    await expect(page.get_by_role("button", name="Open chat")).to_be_enabled()
    await assert_accessible(page, "the demo page on a small screen, its widget closed")
    await page.get_by_role("button", name="Open chat").click()
    await expect(page.get_by_role("textbox", name="Your message")).to_be_visible()
    await assert_accessible(page, "the widget open on a small screen")
    assert refused == []
    await context.close()


async def test_the_open_widget_with_an_answer_and_its_source_has_none(site: Site) -> None:
    page = await open_widget(site)
    await ask(page, "How do I reset my password?")
    answer = page.locator(".msg.assistant").last
    await expect(answer.get_by_role("list", name="Sources")).to_be_visible(timeout=WAIT_MS)
    await expect(answer.get_by_role("group", name="Was this answer helpful?")).to_be_visible()
    await assert_accessible(page, "the widget with an answer")
    await page.context.close()


async def test_a_message_still_being_sent_has_none(site: Site) -> None:
    """The server's `accepted` is held back (Playwright relays the socket), so the customer's
    message stays pending for as long as the audit takes."""
    context = await with_axe(await site.browser.new_context())
    page, refused = await opened(context)

    async def holding_acknowledgements(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()

        def relay(frame: str | bytes) -> None:
            if not (isinstance(frame, str) and json.loads(frame).get("type") == "accepted"):
                socket.send(frame)

        server.on_message(relay)

    await page.route_web_socket(re.compile(r"/v1/chat/"), holding_acknowledgements)
    await page.goto(site.demo_url)
    await page.get_by_role("button", name="Open chat").click()
    await ask(page, "How do I reset my password?")
    await expect(page.locator(".msg.user.pending")).to_have_text("How do I reset my password?")
    await assert_accessible(page, "the widget sending a message")
    assert refused == []
    await context.close()


async def test_the_widget_offering_choices_and_a_person_has_none(site: Site) -> None:
    page = await open_widget(site)
    await ask(page, UNSURE)
    choices = page.get_by_role("group", name="Did you mean one of these?")
    await expect(choices).to_be_visible(timeout=WAIT_MS)
    await assert_accessible(page, "the widget offering choices")
    await ask(page, "Do you sell car insurance?")
    # The header's button where people are at work; below the log after a refusal otherwise.
    offer = page.get_by_role("dialog").get_by_role("button", name="Talk to a person").first
    await expect(offer).to_be_visible(timeout=WAIT_MS)
    await assert_accessible(page, "the widget offering a person")
    await page.context.close()


async def test_the_widget_asking_for_a_rating_has_none(site: Site) -> None:
    page = await open_widget(site)
    await ask(page, "How do I block my card?")
    await expect(page.locator(".msg.assistant")).to_have_count(1, timeout=WAIT_MS)
    tenant_id, agent = site.tenant_id, site.agent
    assert agent is not None
    conversation = await site.stack.services.chat.open_conversation(tenant_id, await customer(page))
    conversation_id = conversation.conversation_id
    # On the server's own services, so its broker tells the open widget.
    await site.stack.on_the_server(lambda s: s.chat.request_handoff(tenant_id, conversation_id))
    await site.stack.on_the_server(
        lambda s: s.desk.reply(tenant_id, conversation_id, "Your card is unblocked.", actor=agent)
    )
    await expect(page.locator(".msg.agent")).to_have_count(1, timeout=WAIT_MS)
    await site.stack.on_the_server(
        lambda s: s.desk.resolve(tenant_id, conversation_id, actor=agent)
    )
    rating = page.locator(".card.rating")
    await expect(rating).to_contain_text("How did we do?", timeout=WAIT_MS)
    await assert_accessible(page, "the widget asking for a rating")
    await page.context.close()
