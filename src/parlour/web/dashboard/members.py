"""People pages: an organisation's members and invitations, the invited person's page behind the
mailed link, and accepting an invitation once logged in. Each acts as its /v1 twin does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.errors import ParlourError
from parlour.identity.models import Role
from parlour.identity.policy import Permission
from parlour.web.dashboard.notices import Notice
from parlour.web.dashboard.pages import (
    PublicPage,
    SignedInPage,
    failed,
    go,
    member_page,
    render,
    same_origin_form,
)
from parlour.web.deps import ServicesDep, request_context
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Keeper = Annotated[Member, Depends(member_page(Permission.MANAGE_MEMBERS))]
Granter = Annotated[Member, Depends(member_page(Permission.MANAGE_MEMBERS, step_up=True))]
ROLES = {
    Role.OWNER: "Owner: everything, including owners",
    Role.ADMIN: "Admin: everything but owners",
    Role.AGENT: "Agent: answers conversations",
    Role.ANALYST: "Analyst: reads reports",
}


async def _page(request: Request, who: Member, services: ServicesDep, **context: Any) -> Response:
    return render(
        request,
        "members.html",
        who=who,
        members=await services.members.members(who.tenant_id),
        invitations=await services.members.invitations(who.tenant_id),
        roles=ROLES,
        **context,
    )


def _role(value: str | None) -> Role:
    return Role(value) if value in {r.value for r in Role} else Role.AGENT


@router.get("/dashboard/o/{tenant_id}/members")
async def members(who: Keeper, services: ServicesDep, request: Request) -> Response:
    return await _page(request, who, services)


@router.post("/dashboard/o/{tenant_id}/members/invite")
async def invite(who: Granter, services: ServicesDep, request: Request) -> Response:
    form = await same_origin_form(request)
    try:
        await services.members.invite(
            who.tenant_id,
            form.get("email", ""),
            _role(form.get("role")),
            by=who.membership,
            actor=who.actor,
        )
    except ParlourError as error:
        return await _page(request, who, services, error=error.message, email=form.get("email"))
    return await _page(request, who, services, notice=f"Invitation sent to {form.get('email')}.")


@router.post("/dashboard/o/{tenant_id}/members/{account_id}/role")
async def change_role(
    account_id: str, who: Granter, services: ServicesDep, request: Request
) -> Response:
    form = await same_origin_form(request)
    try:
        await services.members.change_role(
            who.tenant_id, account_id, _role(form.get("role")), by=who.membership, actor=who.actor
        )
    except ParlourError as error:
        return await _page(request, who, services, error=error.message)
    return go(f"/dashboard/o/{who.tenant_id}/members", Notice.ROLE_CHANGED)


@router.post("/dashboard/o/{tenant_id}/members/{account_id}/remove")
async def remove(
    account_id: str, who: Granter, services: ServicesDep, request: Request
) -> Response:
    try:
        await services.members.remove(who.tenant_id, account_id, by=who.membership, actor=who.actor)
    except ParlourError as error:
        return await _page(request, who, services, error=error.message)
    return go(f"/dashboard/o/{who.tenant_id}/members", Notice.MEMBER_REMOVED)


@router.post("/dashboard/o/{tenant_id}/invitations/{invitation_id}/revoke")
async def revoke(invitation_id: str, who: Keeper, services: ServicesDep) -> Response:
    await services.members.revoke_invitation(who.tenant_id, invitation_id, actor=who.actor)
    return go(f"/dashboard/o/{who.tenant_id}/members", Notice.INVITATION_REVOKED)


async def _invitation(
    request: Request, services: ServicesDep, token: str, error: ParlourError | None = None
) -> Response:
    try:
        invitation, organisation, has_account = await services.members.invitation(token)
    except ParlourError as invalid:
        return failed(request, "invitation.html", invalid)
    context: dict[str, Any] = {
        "invitation": invitation,
        "organisation": organisation,
        "token": token,
        "has_account": has_account,
    }
    if error is not None:
        return failed(request, "invitation.html", error, **context)
    return render(request, "invitation.html", **context)


@router.get("/dashboard/invitation", dependencies=[PublicPage])
async def invitation_page(request: Request, services: ServicesDep, token: str = "") -> Response:
    return await _invitation(request, services, token[:128])


@router.post("/dashboard/invitation", dependencies=[PublicPage])
async def sign_up_invited(request: Request, services: ServicesDep) -> Response:
    form = await same_origin_form(request)
    token = form.get("token", "")[:128]
    try:
        await services.members.sign_up_invited(
            token, form.get("password", ""), source_ip=request_context(request)["ip"]
        )
    except ParlourError as error:
        return await _invitation(request, services, token, error)
    return render(
        request, "login.html", notice="Your account is ready. Log in to set up two-step login."
    )


@router.post("/dashboard/invitations/{invitation_id}/accept")
async def accept(
    invitation_id: str, session: SignedInPage, services: ServicesDep, request: Request
) -> Response:
    joined = await services.members.accept(
        invitation_id, session, source_ip=request_context(request)["ip"]
    )
    return go(f"/dashboard/o/{joined.tenant_id}")
