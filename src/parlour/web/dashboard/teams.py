"""The Teams page: an organisation's teams and their members, auto-assignment and each member's
capacity and presence (owners and admins); each form acts as its /v1 twin does."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from parlour.errors import InvalidInput, ParlourError
from parlour.identity.policy import Permission, role_grants
from parlour.web.dashboard.pages import go, member_page, render, same_origin_form
from parlour.web.deps import ServicesDep
from parlour.web.policy import Member

router = APIRouter(include_in_schema=False)

Keeper = Annotated[Member, Depends(member_page(Permission.MANAGE_MEMBERS))]


async def _page(request: Request, who: Member, services: ServicesDep, **context: Any) -> Response:
    t = who.tenant_id
    members = await services.members.members(t)
    teams = await services.teams.teams(t)
    handling = [m for m in members if role_grants(m.role, Permission.HANDLE_CONVERSATIONS)]
    return render(
        request,
        "teams.html",
        who=who,
        teams=teams,
        members=handling,
        addable={
            team.team_id: [m for m in handling if m.account_id not in team.members]
            for team in teams
        },
        emails={m.account_id: m.email for m in members},
        presence=await services.presence.of(t),
        settings=await services.auto_assignment.settings(t),
        capacities=await services.auto_assignment.capacities(t),
        **context,
    )


def _number(value: str | None) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput("a capacity is a number from 0 to 100")
    return int(value)


@router.get("/dashboard/o/{tenant_id}/teams")
async def teams(who: Keeper, services: ServicesDep, request: Request) -> Response:
    return await _page(request, who, services)


@router.post("/dashboard/o/{tenant_id}/teams/{step}")
async def organisation_step(
    step: str, who: Keeper, services: ServicesDep, request: Request
) -> Response:
    """Create a team, or save auto-assignment."""
    form = await same_origin_form(request)
    try:
        if step == "create":
            await services.teams.create(who.tenant_id, form.get("name", ""), actor=who.actor)
        elif step == "auto-assignment":
            await services.auto_assignment.configure(
                who.tenant_id,
                enabled=form.get("enabled") == "on",
                default_capacity=_number(form.get("default_capacity")) or 0,
                actor=who.actor,
            )
        else:
            raise InvalidInput("no such step")
    except ParlourError as error:
        return await _page(request, who, services, error=error.message)
    return go(f"/dashboard/o/{who.tenant_id}/teams")


@router.post("/dashboard/o/{tenant_id}/teams/{team_id}/{step}")
async def team_step(
    team_id: str, step: str, who: Keeper, services: ServicesDep, request: Request
) -> Response:
    """Rename or delete a team, or add or remove a member."""
    form = await same_origin_form(request)
    t, actor, account = who.tenant_id, who.actor, form.get("account_id", "")
    try:
        if step == "rename":
            await services.teams.rename(t, team_id, form.get("name", ""), actor=actor)
        elif step == "delete":
            await services.teams.delete(t, team_id, actor=actor)
        elif step == "add":
            await services.teams.add_member(t, team_id, account, actor=actor)
        elif step == "remove":
            await services.teams.remove_member(t, team_id, account, actor=actor)
        else:
            raise InvalidInput("no such step")
    except ParlourError as error:
        return await _page(request, who, services, error=error.message)
    return go(f"/dashboard/o/{who.tenant_id}/teams")


@router.post("/dashboard/o/{tenant_id}/capacities/{account_id}")
async def capacity(
    account_id: str, who: Keeper, services: ServicesDep, request: Request
) -> Response:
    """A member's own capacity (empty: the organisation's default)."""
    form = await same_origin_form(request)
    try:
        await services.auto_assignment.set_capacity(
            who.tenant_id, account_id, _number(form.get("capacity")), actor=who.actor
        )
    except ParlourError as error:
        return await _page(request, who, services, error=error.message)
    return go(f"/dashboard/o/{who.tenant_id}/teams")
