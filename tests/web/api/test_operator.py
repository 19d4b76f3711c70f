"""Organisations that signed up wait for a platform operator: until verified their widget works
on localhost only and no app may chat; the operator console lists them and records a decision
with its reason, and shows operators nothing of an organisation's content."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass

import httpx
import pytest

from parlour.identity.models import PlatformRole
from parlour.tenants.models import Verification
from tests.conftest import Stack
from tests.support.accounts import (
    COOKIE,
    Browser,
    authenticated_minutes_ago,
    signed_up_and_enrolled,
)
from tests.support.seed import ACTOR
from tests.web.test_errors import assert_error_shape


@dataclass
class Console:
    operator: Browser
    owner: Browser
    org: str
    client: httpx.AsyncClient


@pytest.fixture
async def console(stack: Stack) -> AsyncIterator[Console]:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        operator, owner = Browser(client), Browser(client)
        operator_email, _ = await signed_up_and_enrolled(stack, operator)
        owner_email, _ = await signed_up_and_enrolled(stack, owner)
        await stack.services.platform_staff.set_role(
            operator_email, PlatformRole.OPERATOR, actor=ACTOR
        )
        account = await stack.services.accounts.by_email(owner_email)
        assert account is not None
        (membership,) = await stack.services.authorisation.memberships(account.account_id)
        yield Console(operator, owner, membership.tenant_id, client)


async def mint(client: httpx.AsyncClient, stack: Stack, org: str, **target: str) -> httpx.Response:
    issued = await stack.services.api_keys.create(org, label="backend", actor=ACTOR)
    return await client.post(
        "/v1/end-user-tokens",
        json={"user_id": "u1", **target},
        headers={"authorization": f"Bearer {issued.secret}"},
    )


async def test_a_signed_up_organisation_is_a_localhost_sandbox_until_verified(
    console: Console, stack: Stack
) -> None:
    tenants = stack.services.tenants
    for origin in ("https://shop.example.com", "http://localhost:3000"):
        await tenants.allow_origin(console.org, origin, actor=ACTOR)
    await tenants.allow_app(console.org, "com.example.bank", actor=ACTOR)
    assert (await tenants.get(console.org)).verification is Verification.PENDING

    site = await mint(console.client, stack, console.org, origin="https://shop.example.com")
    assert_error_shape(site, 403, "origin_not_allowed")
    app = await mint(console.client, stack, console.org, app_id="com.example.bank")
    assert app.status_code == 403
    local = await mint(console.client, stack, console.org, origin="http://localhost:3000")
    assert local.status_code == 201

    answer = await console.operator.send(
        "POST",
        f"/v1/operator/organisations/{console.org}/verification",
        {"decision": "approve", "reason": "Registered company, checked by phone."},
    )
    assert answer.json()["verification"] == "verified"
    site = await mint(console.client, stack, console.org, origin="https://shop.example.com")
    assert site.status_code == 201
    app = await mint(console.client, stack, console.org, app_id="com.example.bank")
    assert app.status_code == 201


async def test_the_operator_sees_pending_organisations_and_the_decision_is_audited(
    console: Console, stack: Stack
) -> None:
    """T-88: the decision, its reason and the operator are in the organisation's audit chain
    and the platform's."""
    pending = await console.operator.send("GET", "/v1/operator/organisations")
    assert console.org in {o["tenant_id"] for o in pending.json()}
    answer = await console.operator.send(
        "POST",
        f"/v1/operator/organisations/{console.org}/verification",
        {"decision": "reject", "reason": "Could not confirm the company."},
    )
    assert answer.json()["verification"] == "rejected"
    pending = await console.operator.send("GET", "/v1/operator/organisations")
    assert console.org not in {o["tenant_id"] for o in pending.json()}
    rejected = await console.operator.send("GET", "/v1/operator/organisations?state=rejected")
    assert rejected.json()[-1]["reason"] == "Could not confirm the company."
    for chain in (console.org, "platform"):
        events = [e async for e in stack.services.audit.export(chain)]
        decided = [e for e in events if e["action"] == "tenant.verification_decided"]
        assert decided[-1]["data"]["reason"] == "Could not confirm the company."  # type: ignore[index]
        assert decided[-1]["actor"]["type"] == "operator"  # type: ignore[index]
        assert decided[-1]["source_ip"] == "127.0.0.1"


async def test_the_console_looks_missing_to_anyone_but_an_operator(console: Console) -> None:
    """T-44."""
    answer = await console.owner.send("GET", "/v1/operator/organisations")
    assert_error_shape(answer, 404, "not_found")
    answer = await console.owner.send(
        "POST",
        f"/v1/operator/organisations/{console.org}/verification",
        {"decision": "approve", "reason": "I approve of myself."},
    )
    assert_error_shape(answer, 404, "not_found")


async def test_an_operator_cannot_read_an_organisations_settings_or_keys(
    console: Console,
) -> None:
    """T-44: verifying organisations grants nothing inside them."""
    for path in (f"/v1/organisations/{console.org}", f"/v1/organisations/{console.org}/api-keys"):
        assert_error_shape(await console.operator.send("GET", path), 404, "not_found")


async def test_a_decision_needs_a_recent_step_up(console: Console, stack: Stack) -> None:
    """T-42."""
    await authenticated_minutes_ago(stack.services, 11)
    answer = await console.operator.send(
        "POST",
        f"/v1/operator/organisations/{console.org}/verification",
        {"decision": "approve", "reason": "Looks fine."},
    )
    assert_error_shape(answer, 403, "reauthentication_required")
    assert (await stack.services.tenants.get(console.org)).verification is Verification.PENDING


async def test_the_console_shows_every_organisations_volumes_to_an_operator_only(
    console: Console, stack: Stack
) -> None:
    conversation = await stack.services.chat.open_conversation(console.org, "customer-1")
    for n in range(4):
        await stack.services.chat.post_user_message(
            console.org, conversation.conversation_id, client_id=f"c{n}", text="Hello there"
        )
    await stack.services.tally.flush()  # the seeding services count apart from the server's

    def page_for(browser: Browser) -> Awaitable[httpx.Response]:
        return console.client.get(
            "/dashboard/operator", headers={"cookie": f"{COOKIE}={browser.cookie}"}
        )

    page = await page_for(console.operator)

    assert page.status_code == 200
    row = page.text.split(f"<code>{console.org}</code>")[-1].split("</tr>")[0]
    cells = [cell.split(">")[-1] for cell in row.split("</td>")[:4]]
    assert cells == ["", "pending", "1", "4"]
    assert "Hello there" not in page.text
    answer = await page_for(console.owner)
    assert answer.status_code == 404
