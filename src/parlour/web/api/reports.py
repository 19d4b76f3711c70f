"""An organisation's reports over a period of its local days, as JSON or as a CSV download
(audited), for members whose role may view analytics (analysts, admins, owners) and for API
keys with the `reports:read` scope (their organisation is the key's). The organisation's time
zone, which reports read days in, is set here too, by those who manage its settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.identity.policy import Permission
from parlour.keys.models import ApiKey, Scope
from parlour.reports.models import AssistantReport, ConversationsReport, PeopleReport, report_named
from parlour.services import Services
from parlour.web.api.client_keys import actor_for
from parlour.web.deps import ServicesDep, api_key
from parlour.web.policy import JsonOnly, Member, member
from parlour.web.report_downloads import report_csv

router = APIRouter(tags=["reports"])

Analyst = Annotated[Member, Depends(member(Permission.VIEW_ANALYTICS))]
SettingsKeeper = Annotated[Member, Depends(member(Permission.MANAGE_SETTINGS))]
KeyDep = Annotated[ApiKey, Depends(api_key(Scope.READ_REPORTS))]
Name = Annotated[
    str, Path(min_length=1, max_length=64, description="conversations, people or assistant")
]
From = Annotated[str, Query(alias="from", max_length=32, description="First local day, YYYY-MM-DD")]
To = Annotated[str, Query(alias="to", max_length=32, description="Last local day, inclusive")]
Report = ConversationsReport | PeopleReport | AssistantReport


async def _report(services: Services, tenant_id: str, name: str, start: str, end: str) -> Report:
    report = report_named(name)
    period = await services.reports.period(tenant_id, start, end)
    return await services.reports.report(tenant_id, report, period)


# The CSV routes come first: `{name}` alone would match "people.csv" too.
@router.get(
    "/v1/organisations/{tenant_id}/reports/{name}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_report(
    name: Name, start: From, end: To, who: Analyst, services: ServicesDep
) -> Response:
    """One report as a CSV file; the download is recorded in the organisation's audit chain."""
    return await report_csv(services, who.tenant_id, name, start, end, actor=who.actor)


@router.get("/v1/organisations/{tenant_id}/reports/{name}")
async def report(name: Name, start: From, end: To, who: Analyst, services: ServicesDep) -> Report:
    """One report over the organisation's local days `from`..`to` (at most 366)."""
    return await _report(services, who.tenant_id, name, start, end)


@router.get(
    "/v1/reports/{name}.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_report_with_key(
    name: Name, start: From, end: To, request: Request, key: KeyDep, services: ServicesDep
) -> Response:
    """The key's organisation's report as a CSV file, audited with the key as its actor."""
    return await report_csv(
        services, key.tenant_id, name, start, end, actor=actor_for(key, request)
    )


@router.get("/v1/reports/{name}")
async def report_with_key(
    name: Name, start: From, end: To, key: KeyDep, services: ServicesDep
) -> Report:
    return await _report(services, key.tenant_id, name, start, end)


class TimeZoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_zone: Annotated[str, Field(min_length=1, max_length=64, description="e.g. Europe/London")]


class TimeZoneOut(BaseModel):
    time_zone: str


@router.put("/v1/organisations/{tenant_id}/time-zone", dependencies=[JsonOnly])
async def set_time_zone(
    body: TimeZoneIn, who: SettingsKeeper, services: ServicesDep
) -> TimeZoneOut:
    """The IANA time zone the organisation's reports read days and hours in. Audited."""
    await services.tenants.set_time_zone(who.tenant_id, body.time_zone, actor=who.actor)
    return TimeZoneOut(time_zone=body.time_zone)
