"""Mutual TLS with an organisation's MCP server (T-78), against the SDK-built server over https:
its certificate must chain to the CA the organisation pinned and name its host, Parlour shows
the organisation's own client certificate, and nothing falls back to plain HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from parlour.errors import InvalidInput, Unavailable
from parlour.mcp_bridge.client import McpBridge
from parlour.mcp_bridge.models import McpServer
from tests.conftest import Stack
from tests.support.mcp_server import RunningMcpServer, ServerTls, mcp_server
from tests.support.seed import ACTOR
from tests.support.tls import Issued, certificate_authority, server_certificate


def bridge(stack: Stack) -> McpBridge:
    services = stack.services
    return McpBridge(
        services.mcp_servers, services.call_tokens, services.egress, timeout_seconds=20
    )


async def pinned(
    stack: Stack, tenant_id: str, server: RunningMcpServer, authority: Issued
) -> McpServer:
    return await stack.services.mcp_servers.save(
        tenant_id,
        name="Orders",
        url=server.url,
        tools=["order_status"],
        server_ca_pem=authority.certificate_pem,
        actor=ACTOR,
    )


def issued_by(authority: Issued, folder: Path, *, for_host: str | None = None) -> ServerTls:
    """TLS with a certificate from `authority`, for the server's host or `for_host`."""

    def certificate(host: str) -> tuple[Path, Path]:
        return server_certificate(authority, for_host or host).write(folder, "server")

    return ServerTls(certificate)


async def requiring(stack: Stack, tenant_id: str, tls: ServerTls, folder: Path) -> ServerTls:
    """`tls`, and the organisation's client certificate required of every caller."""
    ours = await stack.services.mcp_servers.client_certificate(tenant_id)
    (folder / "clients.pem").write_text(ours.certificate_pem)
    return ServerTls(tls.certificate, folder / "clients.pem")


async def test_a_server_chaining_to_the_pinned_ca_is_called_with_the_organisations_certificate(
    stack: Stack, tmp_path: Path
) -> None:
    """T-78: the server requires a client certificate and admits only the organisation's."""
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    authority = certificate_authority("Shop's own CA")
    tls = await requiring(stack, tenant.tenant_id, issued_by(authority, tmp_path), tmp_path)
    with mcp_server(stack.url, tenant.tenant_id, tls) as server:
        config = await pinned(stack, tenant.tenant_id, server, authority)
        listed = await bridge(stack).list_tools(config)
    assert server.url.startswith("https://")
    assert "order_status" in {t.name for t in listed}
    assert server.seen.claims  # the request got through to the MCP layer


@pytest.mark.parametrize("wrong", ["another CA", "another host"])
async def test_a_server_certificate_that_is_not_the_pinned_one_aborts_the_call(
    stack: Stack, tmp_path: Path, wrong: str
) -> None:
    """T-78: a certificate from a CA other than the pinned one, or for another host name, and
    nothing is sent."""
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    authority = certificate_authority("Shop's own CA")
    tls = (
        issued_by(certificate_authority("An impostor's CA"), tmp_path)
        if wrong == "another CA"
        else issued_by(authority, tmp_path, for_host="other.example")
    )
    with mcp_server(stack.url, tenant.tenant_id, tls) as server:
        config = await pinned(stack, tenant.tenant_id, server, authority)
        with pytest.raises(Unavailable):
            await bridge(stack).list_tools(config)
    assert server.seen.claims == []
    assert server.seen.authorizations == []  # no request reached the server at all


async def test_a_server_that_admits_another_certificate_refuses_the_call(
    stack: Stack, tmp_path: Path
) -> None:
    """T-78, the other way round: the organisation's certificate is what Parlour shows, so a
    server pinned to another organisation's refuses it."""
    ours = await stack.services.tenants.create("Shop", actor=ACTOR)
    theirs = await stack.services.tenants.create("Other", actor=ACTOR)
    authority = certificate_authority("Shop's own CA")
    tls = await requiring(stack, theirs.tenant_id, issued_by(authority, tmp_path), tmp_path)
    with mcp_server(stack.url, ours.tenant_id, tls) as server:
        config = await pinned(stack, ours.tenant_id, server, authority)
        with pytest.raises(Unavailable):
            await bridge(stack).list_tools(config)
    assert server.seen.claims == []


async def test_a_pinned_ca_needs_https_and_real_certificates(stack: Stack) -> None:
    """T-78: no plain-HTTP server with a pinned CA (it would never be checked), and a pin that
    is not a certificate is refused when saved."""
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    authority = certificate_authority("Shop's own CA")
    with pytest.raises(InvalidInput, match="https://"):
        await stack.services.mcp_servers.save(
            tenant.tenant_id,
            name="Orders",
            url="http://127.0.0.1:9/mcp",
            tools=[],
            server_ca_pem=authority.certificate_pem,
            actor=ACTOR,
        )
    with pytest.raises(InvalidInput, match="PEM"):
        await stack.services.mcp_servers.save(
            tenant.tenant_id,
            name="Orders",
            url="https://127.0.0.1:9/mcp",
            tools=[],
            server_ca_pem="-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----",
            actor=ACTOR,
        )


async def test_the_organisations_client_key_is_made_once_and_stored_sealed(
    stack: Stack,
) -> None:
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    first = await stack.services.mcp_servers.client_certificate(tenant.tenant_id)
    again = await stack.services.mcp_servers.client_certificate(tenant.tenant_id)
    await stack.services.tenants.rotate_data_key(tenant.tenant_id, actor=ACTOR)
    rotated = await stack.services.mcp_servers.client_certificate(tenant.tenant_id)
    assert first == again == rotated
    assert b"PRIVATE KEY" in first.key_pem


async def test_a_prepared_client_certificate_is_shown_from_the_switch_on(
    stack: Stack, tmp_path: Path
) -> None:
    """T-78, rotation: the next certificate is published ahead; a server admitting only it
    refuses the organisation until the switch, and takes it at the first call after, with the
    bridge that cached the old one."""
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    mcp = stack.services.mcp_servers
    current = (await mcp.client_certificate(tenant.tenant_id)).certificate_pem
    prepared = await mcp.prepare_next_client_certificate(tenant.tenant_id, actor=ACTOR)
    assert prepared != current
    assert await mcp.prepare_next_client_certificate(tenant.tenant_id, actor=ACTOR) == prepared
    assert await mcp.client_certificate_pem(tenant.tenant_id) == current  # not yet switched

    authority = certificate_authority("Shop's own CA")
    (tmp_path / "clients.pem").write_text(prepared)
    tls = ServerTls(issued_by(authority, tmp_path).certificate, tmp_path / "clients.pem")
    calls = bridge(stack)
    with mcp_server(stack.url, tenant.tenant_id, tls) as server:
        config = await pinned(stack, tenant.tenant_id, server, authority)
        with pytest.raises(Unavailable):
            await calls.list_tools(config)
        switched = await mcp.switch_client_certificate(tenant.tenant_id, actor=ACTOR)
        listed = await calls.list_tools(config)
    assert switched == prepared
    assert "order_status" in {t.name for t in listed}
    assert await mcp.next_client_certificate_pem(tenant.tenant_id) is None
    shown = await mcp.client_certificate(tenant.tenant_id)
    assert shown.certificate_pem == prepared
    actions = [e["action"] for e in await stack.services.audit.recent(tenant.tenant_id)]
    assert "mcp.client_certificate_prepared" in actions
    assert "mcp.client_certificate_switched" in actions


async def test_switching_without_a_prepared_certificate_is_refused(stack: Stack) -> None:
    tenant = await stack.services.tenants.create("Shop", actor=ACTOR)
    with pytest.raises(InvalidInput, match="prepare"):
        await stack.services.mcp_servers.switch_client_certificate(tenant.tenant_id, actor=ACTOR)
