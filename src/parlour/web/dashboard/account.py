"""The signed-in person's own security: a new password (other sessions end, as advised), a new
authenticator, and logging out everywhere else (T-41, T-42)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from parlour.audit.events import Actor, ActorType
from parlour.errors import ParlourError
from parlour.identity.models import Session
from parlour.identity.policy import Permission, role_grants
from parlour.web.dashboard.pages import (
    SignedInPage,
    failed,
    live_session_token,
    render,
    same_origin_form,
    stepped_up,
)
from parlour.web.deps import ServicesDep, request_context
from parlour.web.policy import session_token

router = APIRouter(include_in_schema=False)


async def _desks(services: ServicesDep, session: Session) -> list[dict[str, Any]]:
    """The organisations whose desk the person works, with their preferences in each."""
    desks = []
    account_id = session.account.account_id
    for membership in await services.authorisation.memberships(account_id):
        if role_grants(membership.role, Permission.HANDLE_CONVERSATIONS):
            tenant = await services.tenants.get(membership.tenant_id)
            chosen = await services.desk_marks.preferences(membership.tenant_id, account_id)
            desks.append({"tenant_id": tenant.tenant_id, "name": tenant.name, "chosen": chosen})
    return desks


@router.get("/dashboard/account")
async def account(request: Request, session: SignedInPage, services: ServicesDep) -> Response:
    return render(request, "account.html", session=session, desks=await _desks(services, session))


@router.post("/dashboard/account/password")
async def change_password(
    request: Request, session: SignedInPage, services: ServicesDep
) -> Response:
    form = await same_origin_form(request)
    # A new password needs a recent step-up; its form comes back with the step-up's fields.
    session = await stepped_up(request, session)
    try:
        ended = await services.password_change.change(
            live_session_token(request),
            form.get("password", ""),
            end_other_sessions=form.get("end_other_sessions") == "on",
            source_ip=request_context(request)["ip"],
        )
    except ParlourError as error:
        return failed(request, "account.html", error, session=session)
    notice = "Your password is changed." + (
        f" {ended} other session{'s' if ended != 1 else ''} ended." if ended else ""
    )
    return render(request, "account.html", session=session, notice=notice)


@router.post("/dashboard/account/display-name")
async def set_display_name(
    request: Request, session: SignedInPage, services: ServicesDep
) -> Response:
    """The name customers see on the member's replies (audited)."""
    form = await same_origin_form(request)
    context = request_context(request)
    account_id = session.account.account_id
    actor = Actor(ActorType.ACCOUNT, account_id, context["ip"], context["request_id"])
    try:
        name = await services.accounts.set_display_name(
            session.account.account_id, form.get("display_name", ""), actor=actor
        )
    except ParlourError as error:
        return failed(request, "account.html", error, session=session)
    notice = f"Customers see your replies as {name}." if name else "Your display name is cleared."
    return render(request, "account.html", session=session, notice=notice, display_name=name)


@router.post("/dashboard/account/sessions/end-others")
async def end_other_sessions(
    request: Request, session: SignedInPage, services: ServicesDep
) -> Response:
    ended = await services.sessions.end_others(
        session_token(request), source_ip=request_context(request)["ip"]
    )
    notice = f"{ended} other session{'s' if ended != 1 else ''} ended."
    return render(request, "account.html", session=session, notice=notice)
