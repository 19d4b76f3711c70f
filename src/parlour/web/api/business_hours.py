"""An organisation's business hours (issue 22): the weekly schedule its time zone reads, dates it
is closed, and the reply time it promises customers who write when nobody is there. Every member
reads them; those who manage its settings (admins, owners) change them, audited."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from parlour.identity.policy import Permission
from parlour.tenants.business_hours import MAX_CLOSED_DATES, MAX_PERIODS, BusinessHours
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member

router = APIRouter(tags=["Business hours"])

Reader = Annotated[Member, Depends(member(Permission.VIEW_ORGANISATION))]
Keeper = Annotated[Member, Depends(member(Permission.MANAGE_SETTINGS))]
Clock = Annotated[str, Field(min_length=5, max_length=5, description="HH:MM, local time")]


class PeriodIO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    weekday: Annotated[int, Field(ge=0, le=6, description="0 Monday … 6 Sunday")]
    start: Clock
    end: Clock


class BusinessHoursIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    periods: Annotated[list[PeriodIO], Field(max_length=MAX_PERIODS)]
    closed_dates: Annotated[
        list[Annotated[str, Field(max_length=10)]],
        Field(max_length=MAX_CLOSED_DATES, description="YYYY-MM-DD, local days"),
    ] = []
    reply_time: Annotated[
        str, Field(min_length=1, max_length=100, description="e.g. within 4 hours")
    ]


class BusinessHoursOut(BaseModel):
    configured: bool = Field(description="False: never set, open all week.")
    time_zone: str
    periods: list[PeriodIO]
    closed_dates: list[str]
    reply_time: str


def _out(hours: BusinessHours, time_zone: str) -> BusinessHoursOut:
    return BusinessHoursOut(
        configured=hours.configured,
        time_zone=time_zone,
        periods=[
            PeriodIO(
                weekday=p.weekday, start=p.start.strftime("%H:%M"), end=p.end.strftime("%H:%M")
            )
            for p in hours.periods
        ],
        closed_dates=sorted(d.isoformat() for d in hours.closed_dates),
        reply_time=hours.reply_time,
    )


@router.get("/v1/organisations/{tenant_id}/business-hours")
async def business_hours(who: Reader, services: ServicesDep) -> BusinessHoursOut:
    tenant = await services.tenants.get(who.tenant_id)
    return _out(await services.business_hours.get(who.tenant_id), tenant.time_zone)


@router.put("/v1/organisations/{tenant_id}/business-hours", dependencies=[JsonOnly])
async def set_business_hours(
    body: BusinessHoursIn, who: Keeper, services: ServicesDep
) -> BusinessHoursOut:
    """Replace the schedule, closed dates and reply time, read in the organisation's time zone
    (set with `PUT …/time-zone`). Audited."""
    hours = await services.business_hours.set(
        who.tenant_id,
        [(p.weekday, p.start, p.end) for p in body.periods],
        body.closed_dates,
        body.reply_time,
        actor=who.actor,
    )
    tenant = await services.tenants.get(who.tenant_id)
    return _out(hours, tenant.time_zone)
