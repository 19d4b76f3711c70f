"""The operator console: organisations awaiting verification and the decision on each, and every
organisation's verification state, volumes and error rates of the last days."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.policy import PlatformPermission
from parlour.tenants.models import Verification
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import (
    StaffPage,
    go,
    platform_page,
    render,
    same_origin_form,
)
from parlour.web.deps import ServicesDep

router = APIRouter(include_in_schema=False)

ACTIVITY_DAYS = 7
Operator = Annotated[StaffPage, Depends(platform_page(PlatformPermission.VERIFY_ORGANISATIONS))]


async def _console(
    request: Request, staff: StaffPage, services: ServicesDep, **context: Any
) -> Response:
    pending = await services.tenants.by_verification(Verification.PENDING)
    activity, organisations = await services.platform_activity.organisations(days=ACTIVITY_DAYS)
    return render(
        request,
        "operator.html",
        staff=staff,
        pending=pending,
        activity=activity,
        organisations=organisations,
        activity_days=ACTIVITY_DAYS,
        **context,
    )


@router.get("/dashboard/operator")
async def console(staff: Operator, services: ServicesDep, request: Request) -> Response:
    return await _console(request, staff, services)


@router.post("/dashboard/operator/{tenant_id}")
async def decide(
    tenant_id: str, staff: Operator, services: ServicesDep, request: Request
) -> Response:
    form = await same_origin_form(request)
    approve = form.get("decision") == "approve"
    try:
        await services.verification.decide(
            tenant_id, approve=approve, reason=form.get("reason", ""), actor=staff.actor
        )
    except ParlourError as error:
        return await _console(request, staff, services, error=error.message)
    notice = Notice.ORGANISATION_VERIFIED if approve else Notice.ORGANISATION_REJECTED
    return go("/dashboard/operator", notice)
