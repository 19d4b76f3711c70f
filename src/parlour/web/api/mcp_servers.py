"""An organisation's MCP servers, for owners and admins: list, add, change, approve, remove.
Every change needs a fresh step-up (T-42) and is audited without the credential (T-88); the
credential is write-only. Saving approves: the allowed tools' definitions as the server gives
them then are pinned (T-81), and a tool its server later describes otherwise is not offered
until approved again."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.errors import ParlourError
from parlour.identity.policy import Permission
from parlour.mcp_bridge.configuration import MAX_CREDENTIAL_CHARS, MAX_TOOLS, KeepCredential
from parlour.mcp_bridge.models import McpServer
from parlour.mcp_bridge.tls import MAX_CA_PEM_CHARS
from parlour.services import Services
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member

router = APIRouter(tags=["MCP servers"])

Keeper = Annotated[Member, Depends(member(Permission.MANAGE_SETTINGS))]
Changer = Annotated[Member, Depends(member(Permission.MANAGE_SETTINGS, step_up=True))]
ServerParam = Annotated[str, Path(min_length=1, max_length=64)]
ToolNames = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=MAX_TOOLS)]


class McpServerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    url: Annotated[
        str, Field(min_length=1, max_length=2000, examples=["https://mcp.example.com/mcp"])
    ]
    tools: ToolNames = Field(description="The only tools the assistant may be offered.")
    high_impact_tools: ToolNames = Field(
        default_factory=list,
        description="Tools a person must confirm; never run on a model's word.",
    )
    subject_argument: Annotated[str | None, Field(max_length=64)] = Field(
        default=None,
        description="The parameter naming the customer; Parlour fills it with the verified one.",
    )
    credential: Annotated[str | None, Field(max_length=MAX_CREDENTIAL_CHARS)] = Field(
        default=None,
        description="Sent as `X-Api-Key` beside Parlour's signed per-request token. On a "
        "change, leave it out to keep the stored one, or send null to remove it.",
    )
    server_ca_pem: Annotated[str | None, Field(max_length=MAX_CA_PEM_CHARS)] = Field(
        default=None,
        description="PEM of the CA(s) the server's certificate must chain to, instead of the "
        "system's; https only.",
    )


class McpServerOut(BaseModel):
    server_id: str
    name: str
    url: str
    tools: list[str]
    high_impact_tools: list[str]
    subject_argument: str | None
    has_credential: bool
    server_ca_pem: str | None
    approved_tools: list[str] = Field(
        description="Allowed tools whose definitions are approved; only these are offered."
    )
    created_at: datetime
    updated_at: datetime


def _out(server: McpServer) -> McpServerOut:
    return McpServerOut(
        server_id=server.server_id,
        name=server.name,
        url=server.url,
        tools=list(server.tools),
        high_impact_tools=list(server.high_impact_tools),
        subject_argument=server.subject_argument,
        has_credential=server.has_credential,
        server_ca_pem=server.server_ca_pem,
        approved_tools=[t for t in server.tools if t in server.tool_pins],
        created_at=server.created_at,
        updated_at=server.updated_at,
    )


@router.get("/v1/organisations/{tenant_id}/mcp-servers")
async def servers(who: Keeper, services: ServicesDep) -> list[McpServerOut]:
    return [_out(s) for s in await services.mcp_servers.servers(who.tenant_id)]


@router.post("/v1/organisations/{tenant_id}/mcp-servers", status_code=201, dependencies=[JsonOnly])
async def add(body: McpServerIn, who: Changer, services: ServicesDep) -> McpServerOut:
    """The URL's host must resolve to public addresses only."""
    server = await services.mcp_servers.save(
        who.tenant_id,
        name=body.name,
        url=body.url,
        tools=body.tools,
        high_impact_tools=body.high_impact_tools,
        subject_argument=body.subject_argument,
        credential=body.credential,
        server_ca_pem=body.server_ca_pem,
        actor=who.actor,
    )
    return _out(await _approved(services, server, who))


@router.put("/v1/organisations/{tenant_id}/mcp-servers/{server_id}", dependencies=[JsonOnly])
async def change(
    server_id: ServerParam, body: McpServerIn, who: Changer, services: ServicesDep
) -> McpServerOut:
    credential = body.credential if "credential" in body.model_fields_set else KeepCredential.KEEP
    server = await services.mcp_servers.save(
        who.tenant_id,
        server_id=server_id,
        name=body.name,
        url=body.url,
        tools=body.tools,
        high_impact_tools=body.high_impact_tools,
        subject_argument=body.subject_argument,
        credential=credential,
        server_ca_pem=body.server_ca_pem,
        actor=who.actor,
    )
    return _out(await _approved(services, server, who))


class ClientCertificateOut(BaseModel):
    certificate_pem: str = Field(
        description="The certificate Parlour shows your MCP servers over TLS (T-78); a server "
        "that requires client certificates can admit this one alone."
    )
    next_certificate_pem: str | None = Field(
        description="The certificate prepared to replace it: admit it on your servers, then "
        "switch to it."
    )


async def _certificates(services: Services, tenant_id: str) -> ClientCertificateOut:
    return ClientCertificateOut(
        certificate_pem=await services.mcp_servers.client_certificate_pem(tenant_id),
        next_certificate_pem=await services.mcp_servers.next_client_certificate_pem(tenant_id),
    )


@router.get("/v1/organisations/{tenant_id}/mcp-client-certificate")
async def client_certificate(who: Keeper, services: ServicesDep) -> ClientCertificateOut:
    return await _certificates(services, who.tenant_id)


@router.post("/v1/organisations/{tenant_id}/mcp-client-certificate/next")
async def prepare_next_certificate(who: Changer, services: ServicesDep) -> ClientCertificateOut:
    """Make the certificate that will replace the current one (once; asking again shows the
    same), so your servers can admit it before the switch."""
    await services.mcp_servers.prepare_next_client_certificate(who.tenant_id, actor=who.actor)
    return await _certificates(services, who.tenant_id)


@router.post("/v1/organisations/{tenant_id}/mcp-client-certificate/switch")
async def switch_certificate(who: Changer, services: ServicesDep) -> ClientCertificateOut:
    """From now on every call shows the prepared certificate; the old one is discarded."""
    await services.mcp_servers.switch_client_certificate(who.tenant_id, actor=who.actor)
    return await _certificates(services, who.tenant_id)


@router.post("/v1/organisations/{tenant_id}/mcp-servers/{server_id}/approval")
async def approve(server_id: ServerParam, who: Changer, services: ServicesDep) -> McpServerOut:
    """Approve the allowed tools' definitions as the server gives them now: after a server
    changed a tool, it is offered again only once approved."""
    server = await services.mcp_servers.server(who.tenant_id, server_id)
    return _out(await services.mcp_bridge.approve(server, actor=who.actor))


async def _approved(services: Services, server: McpServer, who: Member) -> McpServer:
    """The saved server, its tools approved if it can be reached now; if not, it is saved all
    the same, and `approved_tools` says which of its tools are offered."""
    try:
        return await services.mcp_bridge.approve(server, actor=who.actor)
    except ParlourError:
        return server


@router.delete("/v1/organisations/{tenant_id}/mcp-servers/{server_id}", status_code=204)
async def remove(server_id: ServerParam, who: Changer, services: ServicesDep) -> Response:
    await services.mcp_servers.remove(who.tenant_id, server_id, actor=who.actor)
    return Response(status_code=204)
