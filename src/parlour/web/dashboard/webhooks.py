"""The webhooks page: the organisation's endpoints, the events each hears, how its latest
deliveries went; adding one, or rotating its secret, shows the new signing secret on that page,
once. Changes need the step-up the /v1 routes need."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.policy import Permission
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member
from parlour.webhooks.models import EVENTS

router = APIRouter(include_in_schema=False)

Keeper = Annotated[Member, Depends(member_page(Permission.MANAGE_SETTINGS))]
Changer = Annotated[Member, Depends(member_page(Permission.MANAGE_SETTINGS, step_up=True))]


async def _page(request: Request, who: Member, services: ServicesDep, **context: Any) -> Response:
    return render(
        request,
        "webhooks.html",
        who=who,
        endpoints=await services.webhook_endpoints.of_tenant(who.tenant_id),
        events=EVENTS,
        **context,
    )


@router.get("/dashboard/o/{tenant_id}/webhooks")
async def webhooks(who: Keeper, services: ServicesDep, request: Request) -> Response:
    return await _page(request, who, services)


@router.post("/dashboard/o/{tenant_id}/webhooks")
async def add(who: Changer, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    try:
        created = await services.webhook_endpoints.add(
            who.tenant_id,
            url=form.get("url", ""),
            events=[e for e in EVENTS if form.get(e) == "on"],
            actor=who.actor,
        )
    except ParlourError as error:
        return await _page(request, who, services, error=error.message, draft=form)
    # Shown on this answer only, never stored in clear, never shown again.
    return await _page(request, who, services, created=created)


@router.post("/dashboard/o/{tenant_id}/webhooks/{endpoint_id}/secret")
async def rotate_secret(
    endpoint_id: str, who: Changer, services: ServicesDep, request: Request
) -> Response:
    rotated = await services.webhook_endpoints.rotate_secret(
        who.tenant_id, endpoint_id, actor=who.actor
    )
    return await _page(request, who, services, created=rotated)


@router.post("/dashboard/o/{tenant_id}/webhooks/{endpoint_id}/test")
async def send_test(
    endpoint_id: str, who: Changer, services: ServicesDep, request: Request
) -> Response:
    error = await services.webhook_dispatcher.send_test(who.tenant_id, endpoint_id)
    return await _page(request, who, services, tested=error or "delivered")


@router.post("/dashboard/o/{tenant_id}/webhooks/{endpoint_id}/remove")
async def remove(endpoint_id: str, who: Changer, services: ServicesDep) -> Response:
    await services.webhook_endpoints.remove(who.tenant_id, endpoint_id, actor=who.actor)
    return go(f"/dashboard/o/{who.tenant_id}/webhooks", Notice.WEBHOOK_REMOVED)
