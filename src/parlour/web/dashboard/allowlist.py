"""The allowlist page: web origins (proven before they join) and mobile apps. Each form needs
the step-up its /v1 twin does."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.policy import Permission, role_grants
from parlour.web.dashboard.pages import go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Member, Depends(member_page(Permission.VIEW_ORGANISATION))]
Keeper = Annotated[Member, Depends(member_page(Permission.MANAGE_ALLOWLIST, step_up=True))]


async def _page(request: Request, who: Member, services: ServicesDep, **context: Any) -> Response:
    return render(
        request,
        "origins.html",
        who=who,
        origins=await services.tenants.origins(who.tenant_id),
        pending=await services.tenants.pending_origins(who.tenant_id),
        apps=await services.tenants.apps(who.tenant_id),
        can_change=role_grants(who.membership.role, Permission.MANAGE_ALLOWLIST),
        **context,
    )


@router.get("/dashboard/o/{tenant_id}/origins")
async def origins(who: Viewer, services: ServicesDep, request: Request) -> Response:
    return await _page(request, who, services)


async def _then_back(
    request: Request, who: Member, services: ServicesDep, change: Awaitable[object]
) -> Response:
    """Make the change and go back to the page; or show the page again with what went wrong
    (for a check, also what was looked for where)."""
    try:
        await change
    except ParlourError as error:
        return await _page(request, who, services, error=error.message, findings=error.details)
    return go(f"/dashboard/o/{who.tenant_id}/origins")


@router.post("/dashboard/o/{tenant_id}/origins")
async def request_origin(who: Keeper, services: ServicesDep, request: Request) -> Response:
    origin = (await same_origin_form(request)).get("origin", "")
    change = services.tenants.request_origin(who.tenant_id, origin, actor=who.actor)
    return await _then_back(request, who, services, change)


@router.post("/dashboard/o/{tenant_id}/origins/check")
async def check_origin(who: Keeper, services: ServicesDep, request: Request) -> Response:
    origin = (await same_origin_form(request)).get("origin", "")
    change = services.tenants.check_origin(who.tenant_id, origin, actor=who.actor)
    return await _then_back(request, who, services, change)


@router.post("/dashboard/o/{tenant_id}/origins/remove")
async def remove_origin(who: Keeper, services: ServicesDep, request: Request) -> Response:
    origin = (await same_origin_form(request)).get("origin", "")
    change = services.tenants.remove_origin(who.tenant_id, origin, actor=who.actor)
    return await _then_back(request, who, services, change)


@router.post("/dashboard/o/{tenant_id}/apps")
async def allow_app(who: Keeper, services: ServicesDep, request: Request) -> Response:
    app_id = (await same_origin_form(request)).get("app_id", "")
    change = services.tenants.allow_app(who.tenant_id, app_id, actor=who.actor)
    return await _then_back(request, who, services, change)


@router.post("/dashboard/o/{tenant_id}/apps/remove")
async def remove_app(who: Keeper, services: ServicesDep, request: Request) -> Response:
    app_id = (await same_origin_form(request)).get("app_id", "")
    change = services.tenants.remove_app(who.tenant_id, app_id, actor=who.actor)
    return await _then_back(request, who, services, change)
