"""An organisation's people: members and their roles, invitations by e-mail, and the invited
person's side (look at an invitation, accept it signed in, or make an account from it). Changes
to who holds which role need a fresh step-up (T-42); each is audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.identity.models import Invitation, Role, TeamMember
from parlour.identity.policy import Permission
from parlour.web.deps import ServicesDep, request_context
from parlour.web.policy import JsonOnly, Member, Public, SignedIn, member

router = APIRouter(tags=["members"])

Keeper = Annotated[Member, Depends(member(Permission.MANAGE_MEMBERS))]
Granter = Annotated[Member, Depends(member(Permission.MANAGE_MEMBERS, step_up=True))]
AccountParam = Annotated[str, Path(min_length=1, max_length=64)]
InvitationParam = Annotated[str, Path(min_length=1, max_length=64)]
Token = Annotated[str, Field(min_length=16, max_length=128)]


class MemberOut(BaseModel):
    account_id: str
    email: str
    role: Role
    since: datetime


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role


class NewInvitation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: Annotated[str, Field(min_length=3, max_length=320)]
    role: Role


class InvitationOut(BaseModel):
    invitation_id: str
    email: str
    role: Role
    created_at: datetime
    expires_at: datetime


class InvitationToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Token


class InvitationDetail(BaseModel):
    organisation: str
    email: str
    role: Role
    has_account: bool = Field(description="Log in to accept; otherwise make an account.")


class InvitationForMe(BaseModel):
    invitation_id: str
    organisation: str
    role: Role
    expires_at: datetime


class InvitedSignUp(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: Token
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class JoinedOut(BaseModel):
    tenant_id: str
    role: Role


def _member(m: TeamMember) -> MemberOut:
    return MemberOut(account_id=m.account_id, email=m.email, role=m.role, since=m.since)


def _invitation(i: Invitation) -> InvitationOut:
    return InvitationOut(
        invitation_id=i.invitation_id,
        email=i.email,
        role=i.role,
        created_at=i.created_at,
        expires_at=i.expires_at,
    )


@router.get("/v1/organisations/{tenant_id}/members")
async def members(who: Keeper, services: ServicesDep) -> list[MemberOut]:
    return [_member(m) for m in await services.members.members(who.tenant_id)]


@router.patch("/v1/organisations/{tenant_id}/members/{account_id}", dependencies=[JsonOnly])
async def change_role(
    account_id: AccountParam, body: RoleIn, who: Granter, services: ServicesDep
) -> list[MemberOut]:
    """Only an owner makes or unmakes an owner; the last owner stays one."""
    await services.members.change_role(
        who.tenant_id, account_id, body.role, by=who.membership, actor=who.actor
    )
    return await members(who, services)


@router.delete("/v1/organisations/{tenant_id}/members/{account_id}", status_code=204)
async def remove(account_id: AccountParam, who: Granter, services: ServicesDep) -> Response:
    """The person loses access to this organisation at their next request."""
    await services.members.remove(who.tenant_id, account_id, by=who.membership, actor=who.actor)
    return Response(status_code=204)


@router.get("/v1/organisations/{tenant_id}/invitations")
async def invitations(who: Keeper, services: ServicesDep) -> list[InvitationOut]:
    return [_invitation(i) for i in await services.members.invitations(who.tenant_id)]


@router.post("/v1/organisations/{tenant_id}/invitations", status_code=201, dependencies=[JsonOnly])
async def invite(body: NewInvitation, who: Granter, services: ServicesDep) -> InvitationOut:
    """Mail the address a link to join with the role; it works once, for seven days."""
    invitation = await services.members.invite(
        who.tenant_id, body.email, body.role, by=who.membership, actor=who.actor
    )
    return _invitation(invitation)


@router.delete("/v1/organisations/{tenant_id}/invitations/{invitation_id}", status_code=204)
async def revoke_invitation(
    invitation_id: InvitationParam, who: Keeper, services: ServicesDep
) -> Response:
    await services.members.revoke_invitation(who.tenant_id, invitation_id, actor=who.actor)
    return Response(status_code=204)


@router.post("/v1/invitations/lookup", dependencies=[Public, JsonOnly])
async def look_up(body: InvitationToken, services: ServicesDep) -> InvitationDetail:
    """What a mailed link invites to. The token travels in the body, never in a URL."""
    invitation, organisation, has_account = await services.members.invitation(body.token)
    return InvitationDetail(
        organisation=organisation,
        email=invitation.email,
        role=invitation.role,
        has_account=has_account,
    )


@router.get("/v1/invitations")
async def my_invitations(session: SignedIn, services: ServicesDep) -> list[InvitationForMe]:
    """Open invitations addressed to the signed-in account."""
    return [
        InvitationForMe(
            invitation_id=i.invitation_id, organisation=name, role=i.role, expires_at=i.expires_at
        )
        for i, name in await services.members.invitations_for(session)
    ]


@router.post("/v1/invitations/{invitation_id}/accept")
async def accept(
    invitation_id: InvitationParam, session: SignedIn, services: ServicesDep, request: Request
) -> JoinedOut:
    """Join as the signed-in account; the invitation must be addressed to it."""
    joined = await services.members.accept(
        invitation_id, session, source_ip=request_context(request)["ip"]
    )
    return JoinedOut(tenant_id=joined.tenant_id, role=joined.role)


@router.post("/v1/accounts/invited", status_code=204, dependencies=[Public, JsonOnly])
async def sign_up_invited(body: InvitedSignUp, services: ServicesDep, request: Request) -> Response:
    """Make an account for the invited address, already a member; log in next (the first login
    enrols an authenticator, as for everyone)."""
    await services.members.sign_up_invited(
        body.token, body.password, source_ip=request_context(request)["ip"]
    )
    return Response(status_code=204)
