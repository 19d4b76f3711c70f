"""An organisation's security figures per day of its time zone (issue 21): refusals, token
failures, held-back uploads, blocked answers, withheld tools, failed webhooks. Counts and
reasons only; members who read analytics."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from parlour.alerts.models import SecurityReport
from parlour.identity.policy import Permission
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member, member

router = APIRouter(tags=["reports"])

Analyst = Annotated[Member, Depends(member(Permission.VIEW_ANALYTICS))]


class DayOut(BaseModel):
    day: date
    total: int
    details: dict[str, int]


class FigureOut(BaseModel):
    figure: str
    title: str
    total: int
    days: list[DayOut]


class SecurityReportOut(BaseModel):
    organisation_id: str
    time_zone: str
    start: date
    end: date
    figures: list[FigureOut]


@router.get("/v1/organisations/{tenant_id}/reports/security")
async def security_report(
    who: Analyst,
    services: ServicesDep,
    start: Annotated[str | None, Query(alias="from", max_length=10)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=10)] = None,
) -> SecurityReportOut:
    """Each security figure per day from `from` to `to` (YYYY-MM-DD in the organisation's
    time zone, both included; by default the last 30 days), with its count by reason."""
    period = await services.reports.period(who.tenant_id, start, end)
    return _out(await services.security_figures.report(who.tenant_id, period))


def _out(report: SecurityReport) -> SecurityReportOut:
    return SecurityReportOut(
        organisation_id=report.tenant_id,
        time_zone=report.time_zone,
        start=report.start,
        end=report.end,
        figures=[
            FigureOut(
                figure=series.figure.value,
                title=series.title,
                total=series.total,
                days=[DayOut(day=d.day, total=d.total, details=d.details) for d in series.days],
            )
            for series in report.figures
        ],
    )
