"""The tools page: the organisation's MCP servers, which tools the assistant may offer from each,
and their credentials (write-only). Changes need the step-up the /v1 routes need."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.policy import Permission
from parlour.keys.tokens import call_token_issuer
from parlour.mcp_bridge.configuration import KeepCredential
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Keeper = Annotated[Member, Depends(member_page(Permission.MANAGE_SETTINGS))]
Changer = Annotated[Member, Depends(member_page(Permission.MANAGE_SETTINGS, step_up=True))]


def _names(text: str | None) -> list[str]:
    return [n for n in re.split(r"[\s,]+", text or "") if n]


async def _page(request: Request, who: Member, services: ServicesDep, **context: Any) -> Response:
    return render(
        request,
        "tools.html",
        who=who,
        servers=await services.mcp_servers.servers(who.tenant_id),
        client_certificate=await services.mcp_servers.client_certificate_pem(who.tenant_id),
        next_certificate=await services.mcp_servers.next_client_certificate_pem(who.tenant_id),
        features=await services.features.of(who.tenant_id),
        public_url=services.settings.server.public_url.rstrip("/"),
        issuer=call_token_issuer(services.settings.server.public_url, who.tenant_id),
        **context,
    )


@router.get("/dashboard/o/{tenant_id}/tools")
async def tools(who: Keeper, services: ServicesDep, request: Request) -> Response:
    return await _page(request, who, services)


@router.post("/dashboard/o/{tenant_id}/tools/servers")
async def save(who: Changer, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    server_id = form.get("server_id") or None
    credential: str | KeepCredential | None = form.get("credential") or KeepCredential.KEEP
    if form.get("remove_credential") == "on":
        credential = None
    try:
        server = await services.mcp_servers.save(
            who.tenant_id,
            server_id=server_id,
            name=form.get("name", ""),
            url=form.get("url", ""),
            tools=_names(form.get("tools")),
            high_impact_tools=_names(form.get("high_impact_tools")),
            subject_argument=form.get("subject_argument") or None,
            credential=credential,
            server_ca_pem=form.get("server_ca_pem") or None,
            actor=who.actor,
        )
    except ParlourError as error:
        return await _page(request, who, services, error=error.message, draft=form)
    try:
        # Saving approves the allowed tools as the server describes them now (T-81).
        await services.mcp_bridge.approve(server, actor=who.actor)
    except ParlourError:
        return await _page(
            request,
            who,
            services,
            error=f"{server.name} is saved, but it could not be reached to approve its tools; "
            "they are not offered until you save it again while it is up.",
        )
    return go(f"/dashboard/o/{who.tenant_id}/tools")


@router.post("/dashboard/o/{tenant_id}/tools/certificate/next")
async def prepare_next_certificate(who: Changer, services: ServicesDep) -> Response:
    await services.mcp_servers.prepare_next_client_certificate(who.tenant_id, actor=who.actor)
    return go(f"/dashboard/o/{who.tenant_id}/tools")


@router.post("/dashboard/o/{tenant_id}/tools/certificate/switch")
async def switch_certificate(who: Changer, services: ServicesDep) -> Response:
    await services.mcp_servers.switch_client_certificate(who.tenant_id, actor=who.actor)
    return go(f"/dashboard/o/{who.tenant_id}/tools")


@router.post("/dashboard/o/{tenant_id}/tools/servers/{server_id}/remove")
async def remove(server_id: str, who: Changer, services: ServicesDep) -> Response:
    await services.mcp_servers.remove(who.tenant_id, server_id, actor=who.actor)
    return go(f"/dashboard/o/{who.tenant_id}/tools", Notice.SERVER_REMOVED)
