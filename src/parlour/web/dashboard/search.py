"""Search across the organisation's conversations, for every member who reads the desk: the
form's words, customer, state, assignee and days (in the organisation's time zone), and what
was found, each with its newest matching message's snippet (docs/search.md)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.chat.models import ConversationStatus
from parlour.errors import InvalidInput, ParlourError
from parlour.identity.policy import Permission
from parlour.search.service import Query
from parlour.web.dashboard.pages import failed, member_page, render
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Reader = Annotated[Member, Depends(member_page(Permission.VIEW_CONVERSATIONS))]
STATES = {status.value for status in ConversationStatus}


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: a date as YYYY-MM-DD") from None


def _query(form: dict[str, str], zone: ZoneInfo) -> Query:
    status = form.get("status", "")
    if status and status not in STATES:
        raise InvalidInput("status: one of the conversation's states")
    first, last = _day(form.get("from", ""), "from"), _day(form.get("to", ""), "to")
    return Query(
        text=form.get("q", "")[:500],
        end_user_id=form.get("customer", "")[:200] or None,
        status=ConversationStatus(status) if status else None,
        assignee=form.get("assignee", "")[:64] or None,
        since=datetime.combine(first, time.min, zone) if first else None,
        until=(
            datetime.combine(last + timedelta(days=1), time.min, zone) - timedelta(microseconds=1)
            if last
            else None
        ),
    )


@router.get("/dashboard/o/{tenant_id}/search")
async def search_page(who: Reader, services: ServicesDep, request: Request) -> Response:
    form = {k: v for k, v in request.query_params.items() if isinstance(v, str)}
    context: dict[str, Any] = {"who": who, "form": form, "found": None}
    if not any(form.get(k) for k in ("q", "customer", "status", "assignee", "from", "to")):
        return render(request, "search.html", **context)
    tenant = await services.tenants.get(who.tenant_id)
    try:
        query = _query(form, ZoneInfo(tenant.time_zone))
        context["found"] = await services.search.search(who.tenant_id, query)
    except ParlourError as error:
        return failed(request, "search.html", error, **context)
    return render(request, "search.html", **context)
