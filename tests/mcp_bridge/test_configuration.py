"""An organisation's MCP servers: only hosts on public addresses (T-34's egress rule), only named
tools, and a credential that is sealed, never shown, never in the audit chain, and survives a
data-key rotation (T-48, T-51). On SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from parlour.egress import EgressGuard, EgressRefused, Resolver
from parlour.errors import InvalidInput, NotFound
from parlour.mcp_bridge.configuration import KeepCredential, McpConfiguration
from parlour.services import Services
from parlour.storage.tables import mcp_servers
from tests.support import canaries
from tests.support.dns import dns_server, unique_host
from tests.support.seed import ACTOR

URL = "http://127.0.0.1:8931/mcp"  # the tests allow loopback, as an operator may allow a network


async def tenant(services: Services, name: str = "Shop") -> str:
    return (await services.tenants.create(name, actor=ACTOR)).tenant_id


async def test_a_server_keeps_its_credential_sealed_and_out_of_the_audit_chain(
    backend: Services,
) -> None:
    tenant_id = await tenant(backend)
    secret = canaries.register("mcp-credential-" + "x" * 24)
    server = await backend.mcp_servers.save(
        tenant_id,
        name="Orders",
        url=URL,
        tools=["order_status", "cancel_order"],
        high_impact_tools=["cancel_order"],
        subject_argument="customer_id",
        credential=secret,
        actor=ACTOR,
    )
    assert server.has_credential
    assert await backend.mcp_servers.credential(tenant_id, server.server_id) == secret
    async with backend.db.read(tenant_id) as conn:
        stored = (await conn.execute(select(mcp_servers.c.credential_sealed))).scalar()
    assert stored is not None
    assert secret.encode() not in stored
    (event,) = await backend.audit.recent(tenant_id, limit=1)
    assert event["action"] == "mcp.server_saved"
    assert secret not in json.dumps(event)
    assert event["data"]["credential_changed"] is True  # type: ignore[index]

    await backend.tenants.rotate_data_key(tenant_id, actor=ACTOR)
    assert await backend.mcp_servers.credential(tenant_id, server.server_id) == secret


async def test_a_change_keeps_or_removes_the_credential_as_asked(backend: Services) -> None:
    tenant_id = await tenant(backend)
    server = await backend.mcp_servers.save(
        tenant_id, name="Orders", url=URL, tools=["a"], credential="first-secret", actor=ACTOR
    )
    kept = await backend.mcp_servers.save(
        tenant_id,
        server_id=server.server_id,
        name="Orders v2",
        url=URL,
        tools=["a", "b"],
        credential=KeepCredential.KEEP,
        actor=ACTOR,
    )
    assert kept.has_credential
    assert await backend.mcp_servers.credential(tenant_id, server.server_id) == "first-secret"
    removed = await backend.mcp_servers.save(
        tenant_id,
        server_id=server.server_id,
        name="Orders",
        url=URL,
        tools=["a"],
        credential=None,
        actor=ACTOR,
    )
    assert not removed.has_credential
    assert await backend.mcp_servers.credential(tenant_id, server.server_id) is None
    assert [s.tools for s in await backend.mcp_servers.servers(tenant_id)] == [("a",)]


@pytest.mark.parametrize("address", ["10.0.0.5", "169.254.169.254", "192.168.1.1"])
async def test_a_server_on_a_private_address_is_refused(services: Services, address: str) -> None:
    host = unique_host("mcp")
    dns_server().zone.set(host, "A", address)
    with pytest.raises(EgressRefused):
        await services.mcp_servers.save(
            await tenant(services), name="x", url=f"https://{host}/mcp", tools=[], actor=ACTOR
        )


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254/latest/meta-data/",
        "https://127.0.0.1:6379/",
        "https://[::ffff:127.0.0.1]/mcp",
        "https://2130706433/mcp",  # 127.0.0.1 as one decimal number
        "https://[::1]/mcp",
        "https://10.0.0.1/mcp",
    ],
)
async def test_an_internal_address_in_any_spelling_is_refused_when_saved(
    services: Services, url: str
) -> None:
    """T-79, at configuration time (the call-time half is in test_client.py)."""
    strict = McpConfiguration(
        services.db,
        services.vault,
        services.audit,
        EgressGuard(Resolver([dns_server().nameserver], timeout_seconds=2)),
        public_url=services.settings.server.public_url,
        allow_insecure_urls=False,
    )
    with pytest.raises(EgressRefused):
        await strict.save(await tenant(services), name="x", url=url, tools=[], actor=ACTOR)


async def test_in_production_only_https_urls_are_taken(services: Services) -> None:
    production = McpConfiguration(
        services.db,
        services.vault,
        services.audit,
        EgressGuard(Resolver([dns_server().nameserver]), ["127.0.0.0/8"]),
        public_url=services.settings.server.public_url,
        allow_insecure_urls=False,
    )
    with pytest.raises(InvalidInput, match="https://"):
        await production.save(
            await tenant(services), name="x", url="http://mcp.example.com/", tools=[], actor=ACTOR
        )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"tools": ["ok", "not ok"]}, "is not a tool name"),
        ({"tools": ["a"], "high_impact_tools": ["b"]}, "among the allowed tools"),
        ({"url": "https://user:pw@mcp.example.com/"}, "give the URL"),
        ({"name": " "}, "a name of 1 to 100"),
        ({"subject_argument": "customer id"}, "parameter name"),
    ],
)
async def test_what_is_not_a_server_description_is_refused(
    services: Services, changes: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {"name": "Orders", "url": URL, "tools": ["a"]} | changes
    with pytest.raises(InvalidInput, match=message):
        await services.mcp_servers.save(await tenant(services), actor=ACTOR, **fields)  # type: ignore[arg-type]


async def test_one_organisation_never_reaches_anothers_server(services: Services) -> None:
    """T-29, T-49."""
    ours, theirs = await tenant(services, "Ours"), await tenant(services, "Theirs")
    server = await services.mcp_servers.save(
        ours, name="Orders", url=URL, tools=["a"], credential="ours-secret", actor=ACTOR
    )
    with pytest.raises(NotFound):
        await services.mcp_servers.server(theirs, server.server_id)
    with pytest.raises(NotFound):
        await services.mcp_servers.save(
            theirs, server_id=server.server_id, name="x", url=URL, tools=[], actor=ACTOR
        )
    with pytest.raises(NotFound):
        await services.mcp_servers.remove(theirs, server.server_id, actor=ACTOR)
    assert await services.mcp_servers.credential(theirs, server.server_id) is None
    await services.mcp_servers.remove(ours, server.server_id, actor=ACTOR)
    assert await services.mcp_servers.servers(ours) == []
