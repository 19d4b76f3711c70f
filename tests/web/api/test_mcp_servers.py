"""MCP servers over HTTP: the credential is write-only, a change without it keeps it, and a
server on a private address is refused with the one error shape."""

from __future__ import annotations

from tests.conftest import Stack
from tests.support import canaries
from tests.support.dns import dns_server, unique_host
from tests.support.mcp_server import mcp_server
from tests.support.tls import certificate_authority
from tests.web.api.conftest import Owner
from tests.web.test_errors import assert_error_shape


async def test_the_credential_goes_in_and_never_comes_out(owner: Owner, stack: Stack) -> None:
    browser, path = owner.browser, owner.path("mcp-servers")
    secret = canaries.register("mcp-bearer-" + "s" * 30)
    server = {"name": "Orders", "url": "http://127.0.0.1:8931/mcp", "tools": ["order_status"]}
    added = await browser.send("POST", path, server | {"credential": secret})
    assert added.status_code == 201
    assert added.json()["has_credential"] is True
    changed = await browser.send(
        "PUT", f"{path}/{added.json()['server_id']}", server | {"name": "Orders, renamed"}
    )
    listed = await browser.send("GET", path)
    assert [(s["name"], s["has_credential"]) for s in listed.json()] == [("Orders, renamed", True)]
    assert secret not in added.text + changed.text + listed.text
    assert (
        await stack.services.mcp_servers.credential(owner.org, added.json()["server_id"]) == secret
    )


async def test_a_server_on_a_private_address_is_refused(owner: Owner) -> None:
    browser, path = owner.browser, owner.path("mcp-servers")
    host = unique_host("mcp")
    dns_server().zone.set(host, "A", "169.254.169.254")
    answer = await browser.send(
        "POST", path, {"name": "Metadata", "url": f"https://{host}/", "tools": []}
    )
    assert_error_shape(answer, 422, "egress_refused")


async def test_the_client_certificate_is_replaced_by_preparing_then_switching(
    owner: Owner, stack: Stack
) -> None:
    """T-78: the next certificate is published before any call shows it."""
    browser, path = owner.browser, owner.path("mcp-client-certificate")
    before = (await browser.send("GET", path)).json()
    assert before["next_certificate_pem"] is None
    early = await browser.send("POST", f"{path}/switch")
    assert_error_shape(early, 422, "invalid_input")
    prepared = (await browser.send("POST", f"{path}/next")).json()
    assert prepared["certificate_pem"] == before["certificate_pem"]
    assert "BEGIN CERTIFICATE" in prepared["next_certificate_pem"]
    assert "PRIVATE KEY" not in str(prepared)
    switched = (await browser.send("POST", f"{path}/switch")).json()
    assert switched == {
        "certificate_pem": prepared["next_certificate_pem"],
        "next_certificate_pem": None,
    }
    shown = await stack.services.mcp_servers.client_certificate(owner.org)
    assert shown.certificate_pem == prepared["next_certificate_pem"]


async def test_saving_approves_the_allowed_tools_and_approval_can_be_asked_again(
    owner: Owner, stack: Stack
) -> None:
    """T-81: what is approved is each allowed tool as its server describes it at that moment."""
    browser, path = owner.browser, owner.path("mcp-servers")
    with mcp_server(stack.url, owner.org) as running:
        body = {"name": "Orders", "url": running.url, "tools": ["order_status", "no_such_tool"]}
        added = await browser.send("POST", path, body)
        running.redescribe("order_status", "Now it does something else.")
        approval = f"{path}/{added.json()['server_id']}/approval"
        again = await browser.send("POST", approval)
    gone = await browser.send("POST", approval)

    assert added.json()["approved_tools"] == ["order_status"]  # a tool it lacks is not approved
    assert again.status_code == 200
    assert again.json()["approved_tools"] == ["order_status"]
    assert_error_shape(gone, 503, "unavailable")
    approvals = await stack.services.audit.recent(owner.org, action_prefix="mcp.tools_approved")
    first, second = (e["data"]["tools"]["order_status"] for e in reversed(approvals))  # type: ignore[index]
    assert first != second


async def test_the_client_certificate_is_published_and_a_pinned_ca_is_kept(
    owner: Owner, stack: Stack
) -> None:
    """T-78 over HTTP: the organisation's client certificate is there to copy (never its key),
    and a server's pinned CA is stored and shown; over plain http it is refused."""
    browser, path = owner.browser, owner.path("mcp-servers")
    authority = certificate_authority("Shop's own CA").certificate_pem
    certificate = await browser.send("GET", owner.path("mcp-client-certificate"))
    server = {"name": "Orders", "url": "https://127.0.0.1:8931/mcp", "tools": ["order_status"]}
    added = await browser.send("POST", path, server | {"server_ca_pem": authority})
    plain = await browser.send(
        "POST", path, server | {"url": "http://127.0.0.1:8931/mcp", "server_ca_pem": authority}
    )

    assert certificate.json()["certificate_pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE KEY" not in certificate.text
    assert added.status_code == 201
    assert added.json()["server_ca_pem"].strip() == authority.strip()
    assert_error_shape(plain, 422, "invalid_input")
