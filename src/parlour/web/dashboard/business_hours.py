"""The business hours page: the organisation's weekly schedule in its time zone, its closed
dates and the reply time the widget promises when nobody is there. Every member reads it;
admins and owners change it (the /v1 route's policy), audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.errors import InvalidInput, ParlourError
from parlour.identity.policy import Permission, role_grants
from parlour.tenants.business_hours import BusinessHours
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Member, Depends(member_page(Permission.VIEW_ORGANISATION))]
Keeper = Annotated[Member, Depends(member_page(Permission.MANAGE_SETTINGS))]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _day_texts(hours: BusinessHours) -> list[str]:
    """Each weekday's periods as typed: "09:00-12:30, 13:30-17:00"."""
    return [
        ", ".join(
            f"{p.start.strftime('%H:%M')}-{p.end.strftime('%H:%M')}"
            for p in hours.periods
            if p.weekday == day
        )
        for day in range(7)
    ]


def _periods(form: dict[str, str]) -> list[tuple[int, str, str]]:
    periods = []
    for day in range(7):
        for part in form.get(f"day-{day}", "").split(","):
            if not part.strip():
                continue
            start, dash, end = part.strip().partition("-")
            if not dash:
                raise InvalidInput(f"{WEEKDAYS[day]}: write each period as 09:00-17:00")
            periods.append((day, start.strip(), end.strip()))
    return periods


async def _page(request: Request, who: Member, services: ServicesDep, **context: Any) -> Response:
    hours = await services.business_hours.get(who.tenant_id)
    tenant = await services.tenants.get(who.tenant_id)
    return render(
        request,
        "business_hours.html",
        who=who,
        hours=hours,
        weekdays=WEEKDAYS,
        day_texts=_day_texts(hours),
        closed="\n".join(sorted(d.isoformat() for d in hours.closed_dates)),
        time_zone=tenant.time_zone,
        can_change=role_grants(who.membership.role, Permission.MANAGE_SETTINGS),
        **context,
    )


@router.get("/dashboard/o/{tenant_id}/business-hours")
async def business_hours(who: Viewer, services: ServicesDep, request: Request) -> Response:
    return await _page(request, who, services)


@router.post("/dashboard/o/{tenant_id}/business-hours")
async def save(who: Keeper, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    try:
        await services.business_hours.set(
            who.tenant_id,
            _periods(form),
            form.get("closed_dates", "").split(),
            form.get("reply_time", ""),
            actor=who.actor,
        )
    except ParlourError as error:
        return await _page(request, who, services, error=error.message, draft=form)
    return go(f"/dashboard/o/{who.tenant_id}/business-hours", Notice.BUSINESS_HOURS_SAVED)
