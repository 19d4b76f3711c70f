"""The dashboard in real headless Chromium, end to end: a new administrator signs up, confirms
the address, enrols an authenticator, is verified by a platform operator, saves the features,
creates an API key, ten minutes later creates another through a step-up that keeps the form
(T-42),
and revokes it after confirming, allows the demo site and proves a public one by DNS, uploads
an FAQ, edits the prompt template, invites a colleague who joins from the mailed link, and the
demo widget answers from it; and the demo's own agent answers, from the inbox, a customer who
asked for a person. Screenshots of each main page go to test-artifacts/ for review."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from parlour.identity.models import PlatformRole
from parlour_demo_client.app import create_demo_client
from tests.browser.test_demo_widget import (  # noqa: F401
    ARTIFACTS,
    WAIT_MS,
    Demo,
    ask,
    browser,
    demo,
)
from tests.conftest import Stack
from tests.support import canaries
from tests.support.accounts import (
    PASSWORD,
    authenticated_minutes_ago,
    mailed_token,
    with_current_code,
)
from tests.support.dns import dns_server, unique_host
from tests.support.mcp_server import mcp_server
from tests.support.seed import ACTOR
from tests.support.servers import free_socket, start_threaded, url_of
from tests.support.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.browser

FAQ = (
    "question,answer\n"
    "How do I order a new debit card?,"
    '"Open Cards, choose Order a card, and it arrives in 5 working days."\n'
    "What are your opening hours?,We are open 8:00 to 20:00 every day.\n"
)


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    await page.screenshot(path=ARTIFACTS / f"dashboard-{name}.png", full_page=True)


async def confirm_enrolment(page: Page, code: str) -> bool:
    """Whether the code turned two-step login on; a refused one shows the same seed again."""
    await page.get_by_label("The 6-digit code").fill(code)
    await page.get_by_role("button", name="Turn on two-step login").click()
    codes, refusal = page.locator("#recovery-codes li"), page.get_by_role("alert")
    await expect(codes.first.or_(refusal)).to_be_visible()
    return await refusal.count() == 0


async def log_in_and_enrol(
    page: Page, url: str, email: str, *, name: str | None, password: str = PASSWORD
) -> list[str]:
    """Log in for the first time and enrol an authenticator; the recovery codes shown."""
    await page.goto(f"{url}/dashboard/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await page.get_by_role("button", name="Show my setup code").click()
    await expect(page.get_by_role("img", name="QR code")).to_be_visible()
    if name:
        await shot(page, f"{name}-enrol")
    seed = await page.locator("#seed").inner_text()
    await with_current_code(seed, lambda code: confirm_enrolment(page, code), accepted=bool)
    await expect(page.locator("#recovery-codes li")).to_have_count(10)
    if name:
        await shot(page, f"{name}-recovery-codes")
    codes = await page.locator("#recovery-codes li").all_inner_texts()
    await page.get_by_role("link", name="I have saved them").click()
    return [code.strip() for code in codes]


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:  # noqa: F811
    context = await browser.new_context()
    opened = await context.new_page()
    yield opened
    await context.close()


async def test_a_new_administrator_goes_from_sign_up_to_a_widget_answering_from_their_faq(
    stack: Stack,
    browser: Browser,  # noqa: F811
    page: Page,
    tmp_path: Path,
) -> None:
    url = stack.url
    email = f"admin-{secrets.token_hex(4)}@bank.example"
    outbox = stack.services.settings.data_dir / "outbox"

    await page.goto(f"{url}/dashboard/signup")
    await shot(page, "signup")
    await page.get_by_label("Organisation name").fill("Harbour Bank")
    await page.get_by_label("Your work e-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_role("heading", name="Check your e-mail")).to_be_visible()

    await page.goto(f"{url}/dashboard/verify-email?token={mailed_token(outbox, email)}")
    await page.get_by_role("button", name="Confirm my address").click()
    await expect(page.get_by_role("status")).to_contain_text("Your address is confirmed")
    recovery_codes = await log_in_and_enrol(page, url, email, name="admin")
    await expect(page.locator("#verification")).to_contain_text("Awaiting verification")
    await shot(page, "overview-awaiting")

    # A platform operator verifies the organisation from the console, in a browser of their own.
    operator_email = f"ops-{secrets.token_hex(4)}@parlour.example"
    await stack.services.signup.sign_up(operator_email, PASSWORD, "Parlour Ops", source_ip=None)
    await stack.services.email_verification.verify(
        mailed_token(outbox, operator_email), source_ip=None
    )
    await stack.services.platform_staff.set_role(operator_email, PlatformRole.OPERATOR, actor=ACTOR)
    operator_context = await browser.new_context()
    operator = await operator_context.new_page()
    await log_in_and_enrol(operator, url, operator_email, name=None)
    await operator.goto(f"{url}/dashboard/operator")
    row = operator.locator("#pending").get_by_role("row").filter(has_text="Harbour Bank")
    await row.get_by_label("Reason").fill("Company register entry checked.")
    await shot(operator, "operator-console")
    await row.get_by_role("button", name="Approve").click()
    await expect(operator.get_by_role("status")).to_have_text(
        "The organisation is verified; it sees your reason."
    )
    pending = operator.locator("#pending").get_by_role("row").filter(has_text="Harbour Bank")
    await expect(pending).to_have_count(0)
    listed = operator.locator("#organisations").get_by_role("row").filter(has_text="Harbour Bank")
    await expect(listed).to_contain_text("verified")
    await operator_context.close()

    await page.reload()
    await expect(page.locator("#verification")).to_contain_text("Verified")
    await page.get_by_label("Visitors may chat without signing in").check()
    await page.get_by_role("button", name="Save features").click()
    await expect(page.get_by_role("status")).to_have_text("Features saved.")
    await expect(page.get_by_label("Visitors may chat without signing in")).to_be_checked()
    await shot(page, "overview")

    await page.get_by_role("link", name="API keys").click()
    await page.get_by_label("Label").fill("website backend")
    await page.get_by_role("button", name="Create key").click()
    secret = canaries.register(await page.locator("#new-secret").inner_text())
    assert secret.startswith("parlour_sk_")
    await shot(page, "keys")

    # Ten minutes on, a new key needs the password and a code again (T-42): the form waits in
    # the step-up page, and confirming sends it as it was filled in.
    await authenticated_minutes_ago(stack.services, 11)
    await page.get_by_label("Label").fill("crm backend")
    await page.get_by_label("Upload knowledge").check()
    await page.get_by_role("button", name="Create key").click()
    await expect(page.get_by_role("heading", name="Confirm it is you")).to_be_visible()
    await shot(page, "step-up")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Code from your authenticator app").fill(recovery_codes[0])
    await page.get_by_role("button", name="Confirm and continue").click()
    canaries.register(await page.locator("#new-secret").inner_text())
    crm = page.get_by_role("row").filter(has_text="crm backend")
    await expect(crm).to_contain_text("end_user_tokens:mint, knowledge:write")
    # Revoking asks first, then says it is done.
    await crm.locator("summary").click()
    await crm.get_by_role("button", name="Revoke crm backend now").click()
    await expect(page.get_by_role("status")).to_contain_text("The key is revoked")
    await expect(page.get_by_role("row").filter(has_text="crm backend")).to_contain_text("revoked")

    sock = free_socket()
    demo_url = url_of(sock)
    await page.get_by_role("link", name="Sites").click()
    await page.get_by_label("Site address").fill(demo_url)
    await page.get_by_role("button", name="Add this site").click()
    await expect(page.locator("#origins")).to_contain_text(demo_url)
    # The shop's public site waits until its owner publishes the DNS record the page shows.
    shop = f"https://{unique_host('harbour')}"
    await page.get_by_label("Site address").fill(shop)
    await page.get_by_role("button", name="Add this site").click()
    await expect(page.locator("#pending")).to_contain_text(shop)
    await shot(page, "sites-pending")
    record = await page.locator("#pending .dns-name").inner_text()
    value = await page.locator("#pending .dns-value").inner_text()
    dns_server().zone.set(record, "TXT", value)
    await page.get_by_role("button", name=f"Check {shop}").click()
    await expect(page.locator("#origins")).to_contain_text(shop)
    await shot(page, "sites")

    faq = tmp_path / "harbour-faq.csv"
    faq.write_text(FAQ)
    await page.get_by_role("link", name="Knowledge").click()
    await page.get_by_label("FAQ (CSV or JSON)").set_input_files(faq)
    await page.get_by_role("button", name="Upload and publish").click()
    # Imported in the background: the page follows the job to its outcome.
    await expect(page.locator("#upload-result")).to_contain_text(
        "Version 1: 2 passages from", timeout=WAIT_MS
    )
    await shot(page, "knowledge")

    await page.get_by_role("link", name="Assistant", exact=True).click()
    template = page.get_by_label("Template")
    edited = (await template.input_value()).replace("Be brief,", "Be brief and warm,")
    await template.fill(edited)
    await page.get_by_role("button", name="Save as a new version").click()
    await expect(page.locator("#live")).to_contain_text("version 1")
    await (
        page.get_by_role("row")
        .filter(has_text="built-in")
        .get_by_role("link", name="Compare with live")
        .click()
    )
    await expect(page.locator("#diff del")).to_contain_text("Be brief and warm,")
    await shot(page, "assistant")

    # The organisation's MCP server: two tools allowed, one of them only a person may confirm.
    tenant_id = page.url.split("/dashboard/o/")[1].split("/")[0]
    with mcp_server(url, tenant_id) as orders:
        await page.get_by_role("link", name="Tools").click()
        await page.get_by_label("Name").fill("Orders")
        await page.get_by_label("URL").fill(orders.url)
        await page.get_by_label("Allowed tools (one per line)").fill("order_status\nclose_account")
        await page.get_by_label("Tools a person must confirm").fill("close_account")
        await page.get_by_label("Parameter naming the customer").fill("customer_id")
        await page.get_by_role("button", name="Add server").click()
        await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
        # Saving approved both tools as the server describes them now (T-81).
        await expect(page.locator("#approval-1")).to_contain_text("Every allowed tool is approved")
        # Parlour's client certificate, for the server to admit it alone (T-78).
        await expect(page.locator("#client-certificate")).to_contain_text("BEGIN CERTIFICATE")
        await shot(page, "tools")
        # Replacing it: the next certificate is shown ahead, then switched to.
        await page.get_by_role("button", name="Prepare the next certificate").click()
        prepared = await page.locator("#next-certificate").inner_text()
        assert "BEGIN CERTIFICATE" in prepared
        await page.get_by_role("button", name="Switch to the next certificate").click()
        await expect(page.locator("#client-certificate")).to_have_text(prepared)
        await expect(page.locator("#next-certificate")).to_have_count(0)

    # A webhook for the bank's CRM: its signing secret is shown on the answer, once.
    with webhook_receiver() as crm:
        await page.get_by_role("link", name="Webhooks", exact=True).click()
        await page.get_by_label("Endpoint URL").fill(f"{crm.url}/hook")
        await page.get_by_label("conversation.handoff").uncheck()
        await page.get_by_role("button", name="Add webhook").click()
        await expect(page.locator("#secret")).to_contain_text("whsec_")
        await expect(page.locator("#endpoints")).to_contain_text("message.created")
        await expect(page.locator("#endpoints")).not_to_contain_text("conversation.handoff")
        await shot(page, "webhooks")
        first_secret = await page.locator("#secret").inner_text()
        await page.get_by_role("link", name="Webhooks", exact=True).click()
        await expect(page.locator("#endpoints")).to_contain_text(f"{crm.url}/hook")
        await expect(page.locator("#secret")).to_have_count(0)
        await page.get_by_role("button", name="Send test").click()
        await expect(page.locator("#test-result")).to_contain_text("delivered (the endpoint")
        assert [r.path for r in crm.received] == ["/hook"]
        # Rotating shows the new secret once; the old one signs beside it for a day.
        await page.get_by_role("button", name="Rotate secret").click()
        await expect(page.locator("#new-secret")).to_contain_text("signed with the secret it")
        assert (await page.locator("#secret").inner_text()) not in ("", first_secret)

    # A colleague is invited as an agent and makes an account from the mailed link.
    await page.get_by_role("link", name="Members").click()
    colleague = f"agent-{secrets.token_hex(4)}@bank.example"
    await page.get_by_label("E-mail").fill(colleague)
    await page.get_by_label("Agent: answers conversations").check()
    await page.get_by_role("button", name="Send invitation").click()
    await expect(page.locator("#invitations")).to_contain_text(f"{colleague} as agent")
    await shot(page, "members")
    colleague_context = await browser.new_context()
    invited = await colleague_context.new_page()
    await invited.goto(f"{url}/dashboard/invitation?token={mailed_token(outbox, colleague)}")
    await expect(invited.locator("#invitation")).to_contain_text("Harbour Bank")
    await shot(invited, "invitation")
    await invited.get_by_label("Choose a password").fill(PASSWORD)
    await invited.get_by_role("button", name="Create my account").click()
    await expect(invited.get_by_role("status")).to_contain_text("Your account is ready")
    await log_in_and_enrol(invited, url, colleague, name=None)
    await expect(invited.get_by_role("heading", name="Harbour Bank")).to_be_visible()
    await colleague_context.close()

    await page.get_by_role("link", name="Account").click()
    await expect(page.locator("#signed-in-as")).to_contain_text(email)
    await shot(page, "account")
    await page.goto(f"{url}/dashboard/o/{tenant_id}")

    await page.get_by_role("link", name="Audit log").click()
    await expect(page.locator("#audit")).to_contain_text("account.member_added")
    await expect(page.locator("#audit")).to_contain_text("knowledge.uploaded")
    await expect(page.locator("#audit")).to_contain_text("tenant.verification_decided")
    await expect(page.locator("#audit")).to_contain_text("mcp.tools_approved")
    await expect(page.locator("#audit")).to_contain_text("webhook.endpoint_added")
    await shot(page, "audit-log")

    widget_id = (await stack.services.tenants.get(tenant_id)).widget_id
    client = create_demo_client(
        parlour_url=url, widget_id=widget_id, api_key=secret, own_origin=demo_url
    )
    server = start_threaded(lambda _url: (client, None), sock)
    try:
        shop = await page.context.new_page()
        await shop.goto(demo_url)
        await shop.get_by_role("button", name="Open chat").click()
        await ask(shop, "How can I order a new debit card?")
        answer = shop.locator(".msg.assistant").last
        await expect(answer).to_contain_text("arrives in 5 working days", timeout=WAIT_MS)
        await shot(shop, "widget-answer")
    finally:
        server.stop()


async def test_an_agent_answers_from_the_inbox_a_customer_who_asked_for_a_person(
    demo: Demo,  # noqa: F811
    stack: Stack,
    browser: Browser,  # noqa: F811
) -> None:
    """The widget shows that a person joined, then their reply, then that the assistant is back.
    The agent logs in with the login the demo prints. The customer's words, markup and all, are
    text on the agent's page (T-94)."""
    customer = demo.page
    await customer.get_by_role("button", name="Open chat").click()
    question = 'Do you sell car insurance? <img src=x onerror="window.__pwned=1">'
    await ask(customer, question)
    offer = customer.get_by_role("button", name="Talk to a person")
    await expect(offer).to_be_visible(timeout=WAIT_MS)
    await offer.click()
    await expect(customer.locator(".msg.system")).to_have_text(
        "We're connecting you to a person…", timeout=WAIT_MS
    )

    context = await browser.new_context()
    agent = await context.new_page()
    await log_in_and_enrol(
        agent, stack.url, demo.agent_email, name=None, password=demo.agent_password
    )
    await agent.goto(f"{stack.url}/dashboard/o/{demo.tenant_id}")
    await agent.get_by_role("link", name="Inbox").click()
    await agent.locator("#queued").get_by_role("link").click()
    await expect(agent.locator("#messages")).to_contain_text(question)
    await expect(agent.locator("#status")).to_have_text("Waiting for a person.")
    await shot(agent, "conversation")

    await agent.get_by_label("Your reply").fill("Hello, I'm Ada. We do not, I'm afraid.")
    await agent.get_by_role("button", name="Send").click()
    await expect(agent.locator("#status")).to_have_text("Assigned to you.")
    await expect(customer.locator(".msg.agent")).to_have_text(
        "Hello, I'm Ada. We do not, I'm afraid.", timeout=WAIT_MS
    )
    await expect(customer.locator(".msg.system").last).to_have_text("A person has joined the chat.")
    assert await agent.evaluate("window.__pwned") is None

    await agent.get_by_role("button", name="Unassign").click()
    await expect(agent.locator("#status")).to_have_text("Waiting for a person.")
    await agent.get_by_role("button", name="Assign to me").click()
    await expect(agent.locator("#status")).to_have_text("Assigned to you.")
    await agent.get_by_role("button", name="Resolve").click()
    await expect(agent.locator("#status")).to_have_text("Resolved.")
    await expect(customer.locator(".msg.system").last).to_have_text(
        "This conversation is resolved. Write again any time.", timeout=WAIT_MS
    )
    await agent.get_by_role("button", name="Reopen").click()
    await expect(agent.locator("#status")).to_have_text("Assigned to you.")

    await agent.get_by_role("button", name="Hand back to the assistant").click()
    await expect(agent.locator("#no-assigned")).to_be_visible()
    await expect(customer.locator(".msg.system").last).to_have_text(
        "You're back with the assistant.", timeout=WAIT_MS
    )
    await context.close()
