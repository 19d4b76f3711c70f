"""The knowledge gaps on the dashboard: the questions the assistant could not answer, grouped,
and the minimum FAQ editor a gap opens, a form that adds one entry and publishes it as a new
version (through the upload path: screened, held back for review when suspicious, audited).

A gap's button names the unanswered question by its id; the form is prefilled from it on the
server. Its text never rides in an address, which access logs keep (T-105)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.policy import Permission, role_grants
from parlour.web.dashboard.pages import failed, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.periods import parse_day, utc_bounds
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Analyst = Annotated[Member, Depends(member_page(Permission.VIEW_ANALYTICS))]
Librarian = Annotated[Member, Depends(member_page(Permission.MANAGE_KNOWLEDGE))]
DEFAULT_DAYS = 30
QuestionId = Annotated[str, Query(max_length=64)]


@router.get("/dashboard/o/{tenant_id}/knowledge/gaps")
async def gaps(
    who: Analyst,
    services: ServicesDep,
    request: Request,
    first: Annotated[str, Query(alias="from", max_length=10)] = "",
    last: Annotated[str, Query(alias="to", max_length=10)] = "",
) -> Response:
    """The gaps of a period (by default the last 30 days) in the organisation's time zone."""
    tenant = await services.tenants.get(who.tenant_id)
    today = services.clock().astimezone(ZoneInfo(tenant.time_zone)).date()
    last_day = parse_day(last, "to") if last else today
    first_day = parse_day(first, "from") if first else last_day - timedelta(days=DEFAULT_DAYS - 1)
    since, until = utc_bounds(first_day, last_day, tenant.time_zone)
    report = await services.knowledge.gaps.clusters(who.tenant_id, since, until)
    return render(
        request,
        "knowledge_gaps.html",
        who=who,
        gaps=report,
        first=first_day,
        last=last_day,
        time_zone=tenant.time_zone,
        can_add_entries=role_grants(who.membership.role, Permission.MANAGE_KNOWLEDGE),
    )


@router.get("/dashboard/o/{tenant_id}/knowledge/new-entry")
async def new_entry(
    who: Librarian, services: ServicesDep, request: Request, question: QuestionId = ""
) -> Response:
    """The form, its question taken from an unanswered question when one is named."""
    draft = ""
    if question:
        unanswered = await services.knowledge.gaps.question(who.tenant_id, question)
        draft = unanswered.question if unanswered else ""
    return render(request, "new_entry.html", who=who, question=draft, answer="")


@router.post("/dashboard/o/{tenant_id}/knowledge/new-entry")
async def add_entry(who: Librarian, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    question, answer = form.get("question", ""), form.get("answer", "")
    try:
        report = await services.knowledge.add_entry(
            who.tenant_id, question, answer, actor=who.actor
        )
    except ParlourError as error:
        return failed(request, "new_entry.html", error, who=who, question=question, answer=answer)
    return render(request, "new_entry.html", who=who, question="", answer="", report=report)
