"""Parlour calling an organisation's real MCP server (official SDK, streamable HTTP): each request
carries a token the server verifies against Parlour's JWKS, bound to that server (aud), that
organisation (iss) and the customer (sub); the configured credential rides beside it; hosts are
re-vetted at every connection (TB-03)."""

from __future__ import annotations

import pytest

from parlour.egress import EgressRefused
from parlour.errors import InvalidToken, Unavailable
from parlour.keys.tokens import call_token_issuer
from parlour.mcp_bridge.client import MAX_RESULT_CHARS, McpBridge
from parlour.mcp_bridge.models import McpServer
from tests.conftest import Stack
from tests.support import canaries, seed
from tests.support.dns import dns_server
from tests.support.mcp_server import HUGE_RESULT_CHARS, RunningMcpServer, mcp_server
from tests.support.seed import ACTOR


def bridge(stack: Stack) -> McpBridge:
    services = stack.services
    return McpBridge(
        services.mcp_servers, services.call_tokens, services.egress, timeout_seconds=20
    )


async def configured(
    stack: Stack, tenant_id: str, server: RunningMcpServer, credential: str | None = None
) -> McpServer:
    return await stack.services.mcp_servers.save(
        tenant_id,
        name="Orders",
        url=server.url,
        tools=["order_status", "close_account"],
        high_impact_tools=["close_account"],
        subject_argument="customer_id",
        credential=credential,
        actor=ACTOR,
    )


async def test_listing_presents_a_token_for_that_server_and_organisation_and_the_credential(
    stack: Stack,
) -> None:
    """T-76: aud the server's URL, iss this organisation's, sub, tid, a minute of life."""
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    secret = canaries.register("orders-api-key-" + "k" * 20)
    with mcp_server(stack.url, tenant.tenant_id) as server:
        config = await configured(stack, tenant.tenant_id, server, credential=secret)
        listed = await bridge(stack).list_tools(config)

    assert {t.name for t in listed} == {
        "order_status",
        "close_account",
        "export_all_customers",
        "broken",
        "order_notes",
        "slow",
        "huge",
    }
    status = next(t for t in listed if t.name == "order_status")
    assert set(status.input_schema["properties"]) == {"customer_id", "order_ref"}
    claims = server.seen.claims[-1]
    assert claims["aud"] == server.url
    assert claims["iss"] == call_token_issuer(stack.url, tenant.tenant_id)
    assert (claims["sub"], claims["scope"], claims["tid"]) == (
        "parlour",
        "tools:list",
        tenant.tenant_id,
    )
    assert claims["exp"] - claims["iat"] == 60
    assert set(server.seen.api_keys) == {secret}


async def test_a_call_runs_for_the_customer_the_token_names(stack: Stack) -> None:
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    with mcp_server(stack.url, tenant.tenant_id) as server:
        config = await configured(stack, tenant.tenant_id, server)
        text = await bridge(stack).call_tool(
            config, "order_status", {"customer_id": "c-7", "order_ref": "AB12"}, subject="c-7"
        )
        with pytest.raises(Unavailable, match="tool reported an error"):
            await bridge(stack).call_tool(config, "broken", {}, subject="c-7")

    assert '"status": "shipped"' in text
    assert server.seen.calls[0] == (
        "order_status",
        {"customer_id": "c-7", "order_ref": "AB12"},
        "c-7",
    )
    assert server.seen.claims[-1]["scope"] == "tools:call"
    assert server.seen.api_keys[-1] is None


async def test_a_server_refuses_tokens_parlour_made_for_another_organisation(stack: Stack) -> None:
    """T-76, T-29 across TB-03: an organisation that names another's MCP server as its own gets
    nothing, because its tokens carry its own issuer."""
    theirs = await stack.services.tenants.create("Theirs", actor=ACTOR)
    ours = await stack.services.tenants.create("Ours", actor=ACTOR)
    with mcp_server(stack.url, theirs.tenant_id) as their_server:
        pointed = await configured(stack, ours.tenant_id, their_server)
        with pytest.raises(Unavailable):
            await bridge(stack).list_tools(pointed)
        assert their_server.seen.calls == []
        assert their_server.seen.claims == []


async def test_a_host_that_now_resolves_to_a_private_address_is_not_connected_to(
    stack: Stack,
) -> None:
    """T-79: DNS rebinding; the address is vetted at every connection, not only when saved."""
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    with mcp_server(stack.url, tenant.tenant_id) as server:
        config = await configured(stack, tenant.tenant_id, server)
        host = server.url.split("//")[1].split(":")[0]
        dns_server().zone.set(host, "A", "10.0.0.7")
        with pytest.raises(EgressRefused):
            await bridge(stack).list_tools(config)
    assert server.seen.claims == []


async def test_a_call_token_opens_nothing_of_parlours_own(stack: Stack) -> None:
    """T-76, T-14: a token made for an MCP server is refused where widget tokens are taken."""
    org = await seed.organisation(stack.services)
    token = await stack.services.call_tokens.mint(
        org.tenant_id, audience=stack.url, subject="customer-1", scope="tools:call"
    )
    canaries.register(token)
    with pytest.raises(InvalidToken):
        await stack.services.end_user_tokens.verify(org.tenant_id, org.widget_id, token)


async def test_a_slow_server_is_given_up_on_at_the_timeout_without_naming_it(
    stack: Stack,
) -> None:
    """T-82: a call still unanswered at the timeout fails as Unavailable, and what it says (which
    may reach a log or, through the turn, a customer) names neither the server nor the token."""
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    services = stack.services
    impatient = McpBridge(
        services.mcp_servers, services.call_tokens, services.egress, timeout_seconds=1
    )
    with mcp_server(stack.url, tenant.tenant_id) as server:
        config = await configured(stack, tenant.tenant_id, server)
        try:
            with pytest.raises(Unavailable) as failed:
                await impatient.call_tool(config, "slow", {}, subject="c-7")
        finally:
            server.seen.release.set()
    said = str(failed.value)
    assert server.seen.calls == [("slow", {}, "c-7")]  # it was waiting on the server
    assert "Timeout" in said
    assert server.url not in said
    assert not any(a and a.removeprefix("Bearer ") in said for a in server.seen.authorizations)


async def test_a_huge_result_is_cut_to_the_limit(stack: Stack) -> None:
    """T-82: what a tool returns reaches the model as at most MAX_RESULT_CHARS characters."""
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    with mcp_server(stack.url, tenant.tenant_id) as server:
        config = await configured(stack, tenant.tenant_id, server)
        text = await bridge(stack).call_tool(config, "huge", {}, subject="c-7")
    assert len(text) == MAX_RESULT_CHARS < HUGE_RESULT_CHARS


async def test_the_customers_widget_token_never_reaches_the_server(stack: Stack) -> None:
    """T-77: no passthrough. The customer's own token (the one their widget presents) is never
    sent; every request carries a token Parlour made for this server alone."""
    org = await seed.organisation(stack.services)
    widget_token = await seed.token_for(stack.services, org, "customer-1")
    with mcp_server(stack.url, org.tenant_id) as server:
        config = await configured(stack, org.tenant_id, server)
        await bridge(stack).list_tools(config)
        await bridge(stack).call_tool(
            config,
            "order_status",
            {"customer_id": "customer-1", "order_ref": "AB12"},
            subject="customer-1",
        )
    presented = [a for a in server.seen.authorizations if a is not None]
    assert presented
    assert all(widget_token not in a for a in presented)
    assert len(server.seen.claims) == len(presented)  # each one verified as a call token
    assert {c["aud"] for c in server.seen.claims} == {server.url}
    assert len({c["jti"] for c in server.seen.claims}) == 2  # a fresh one per session
    assert server.seen.claims[-1]["sub"] == "customer-1"
