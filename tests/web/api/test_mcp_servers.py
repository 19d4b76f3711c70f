"""MCP servers over HTTP: the credential is write-only, a change without it keeps it, and a
server on a private address is refused with the one error shape."""

from __future__ import annotations

from tests.conftest import Stack
from tests.support import canaries
from tests.support.dns import dns_server, unique_host
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
    assert await stack.services.mcp.credential(owner.org, added.json()["server_id"]) == secret


async def test_a_server_on_a_private_address_is_refused(owner: Owner) -> None:
    browser, path = owner.browser, owner.path("mcp-servers")
    host = unique_host("mcp")
    dns_server().zone.set(host, "A", "169.254.169.254")
    answer = await browser.send(
        "POST", path, {"name": "Metadata", "url": f"https://{host}/", "tools": []}
    )
    assert_error_shape(answer, 422, "egress_refused")
