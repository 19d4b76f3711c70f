"""The desk's people over HTTP: an organisation's teams (owners and admins make, rename and
delete them and choose their members; every member who reads the desk lists them and a team's
queue), a conversation's team (agents and admins), members' presence (each member sets their
own; readers list everyone's), and auto-assignment with each member's capacity (owners and
admins). Each change is audited with who made it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from parlour.chat.desk_repository import DeskSettings, Team
from parlour.chat.models import ConversationStatus
from parlour.identity.policy import Permission
from parlour.web.api.conversations import ConversationOut, Listed, conversation_out
from parlour.web.deps import ServicesDep
from parlour.web.policy import JsonOnly, Member, member

router = APIRouter(tags=["Teams and presence"])

Agent = Annotated[Member, Depends(member(Permission.HANDLE_CONVERSATIONS))]
Reader = Annotated[Member, Depends(member(Permission.VIEW_CONVERSATIONS))]
Keeper = Annotated[Member, Depends(member(Permission.MANAGE_MEMBERS))]
Id = Annotated[str, Path(min_length=1, max_length=64)]


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]


class TeamOut(BaseModel):
    team_id: str
    name: str
    members: list[str] = Field(description="The account ids of its members.")
    created_at: datetime


class PresenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    presence: Literal["available", "away"] = Field(
        description="Your choice; with no live dashboard socket you are offline anyway."
    )


class PresenceOut(BaseModel):
    account_id: str
    presence: Literal["available", "away", "offline"]


class AutoAssignmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    default_capacity: Annotated[int, Field(ge=0, le=100)] = Field(
        description="How many assigned conversations an agent is given, unless they have "
        "a capacity of their own."
    )


class AutoAssignmentOut(BaseModel):
    enabled: bool
    default_capacity: int
    capacities: dict[str, int | None] = Field(
        description="Each member's own capacity by account id; null: the default."
    )


class CapacityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    capacity: Annotated[int, Field(ge=0, le=100)] | None = Field(
        description="null: the organisation's default."
    )


def _team(team: Team) -> TeamOut:
    return TeamOut(
        team_id=team.team_id, name=team.name, members=list(team.members), created_at=team.created_at
    )


async def _auto(services: ServicesDep, tenant_id: str, settings: DeskSettings) -> AutoAssignmentOut:
    return AutoAssignmentOut(
        enabled=settings.auto_assign,
        default_capacity=settings.default_capacity,
        capacities=await services.auto_assignment.capacities(tenant_id),
    )


@router.get("/v1/organisations/{tenant_id}/teams")
async def teams(who: Reader, services: ServicesDep) -> list[TeamOut]:
    return [_team(t) for t in await services.teams.teams(who.tenant_id)]


@router.post("/v1/organisations/{tenant_id}/teams", status_code=201, dependencies=[JsonOnly])
async def create_team(body: TeamIn, who: Keeper, services: ServicesDep) -> TeamOut:
    """A team of this organisation; 409 when one has that name already."""
    return _team(await services.teams.create(who.tenant_id, body.name, actor=who.actor))


@router.get("/v1/organisations/{tenant_id}/teams/{team_id}")
async def team(team_id: Id, who: Reader, services: ServicesDep) -> TeamOut:
    return _team(await services.teams.get(who.tenant_id, team_id))


@router.patch("/v1/organisations/{tenant_id}/teams/{team_id}", dependencies=[JsonOnly])
async def rename_team(team_id: Id, body: TeamIn, who: Keeper, services: ServicesDep) -> TeamOut:
    return _team(await services.teams.rename(who.tenant_id, team_id, body.name, actor=who.actor))


@router.delete("/v1/organisations/{tenant_id}/teams/{team_id}", status_code=204)
async def delete_team(team_id: Id, who: Keeper, services: ServicesDep) -> Response:
    """The team goes; its conversations stay, in no team's queue."""
    await services.teams.delete(who.tenant_id, team_id, actor=who.actor)
    return Response(status_code=204)


@router.put("/v1/organisations/{tenant_id}/teams/{team_id}/members/{account_id}")
async def add_team_member(
    team_id: Id, account_id: Id, who: Keeper, services: ServicesDep
) -> TeamOut:
    """A member of this organisation whose role handles conversations; anyone else is not
    found (T-98)."""
    return _team(
        await services.teams.add_member(who.tenant_id, team_id, account_id, actor=who.actor)
    )


@router.delete("/v1/organisations/{tenant_id}/teams/{team_id}/members/{account_id}")
async def remove_team_member(
    team_id: Id, account_id: Id, who: Keeper, services: ServicesDep
) -> TeamOut:
    return _team(
        await services.teams.remove_member(who.tenant_id, team_id, account_id, actor=who.actor)
    )


@router.get("/v1/organisations/{tenant_id}/teams/{team_id}/conversations")
async def team_queue(
    team_id: Id,
    who: Reader,
    services: ServicesDep,
    status: Annotated[Listed, Query()] = "queued",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[ConversationOut]:
    """The team's conversations in `status` (its queue by default), the longest quiet first."""
    await services.teams.get(who.tenant_id, team_id)
    wanted = ConversationStatus.ASSIGNED if status == "agent" else ConversationStatus(status)
    listed = await services.desk.conversations(who.tenant_id, wanted, limit=limit, team_id=team_id)
    return [conversation_out(c) for c in listed]


@router.put("/v1/organisations/{tenant_id}/conversations/{conversation_id}/team/{team_id}")
async def place_in_team(
    conversation_id: Id, team_id: Id, who: Agent, services: ServicesDep
) -> ConversationOut:
    """Put the conversation in the team's queue, whoever has it; with auto-assignment on, a
    queued one is offered to the team's available agents."""
    await services.teams.place(who.tenant_id, conversation_id, team_id, actor=who.actor)
    return conversation_out(await services.chat.get_conversation(who.tenant_id, conversation_id))


@router.delete("/v1/organisations/{tenant_id}/conversations/{conversation_id}/team")
async def leave_team(conversation_id: Id, who: Agent, services: ServicesDep) -> ConversationOut:
    await services.teams.place(who.tenant_id, conversation_id, None, actor=who.actor)
    return conversation_out(await services.chat.get_conversation(who.tenant_id, conversation_id))


@router.get("/v1/organisations/{tenant_id}/presence")
async def presence(who: Reader, services: ServicesDep) -> list[PresenceOut]:
    """Every member's presence: offline without a live dashboard socket, else their choice."""
    states = await services.presence.of(who.tenant_id)
    return [PresenceOut(account_id=a, presence=s.value) for a, s in states.items()]


@router.put("/v1/organisations/{tenant_id}/presence/me", dependencies=[JsonOnly])
async def choose_presence(body: PresenceIn, who: Reader, services: ServicesDep) -> PresenceOut:
    """Your own choice, available or away, kept until you change it."""
    await services.presence.choose(who.tenant_id, who.actor.id, body.presence)
    state = await services.presence.state(who.tenant_id, who.actor.id)
    return PresenceOut(account_id=who.actor.id, presence=state.value)


@router.get("/v1/organisations/{tenant_id}/auto-assignment")
async def auto_assignment(who: Reader, services: ServicesDep) -> AutoAssignmentOut:
    settings = await services.auto_assignment.settings(who.tenant_id)
    return await _auto(services, who.tenant_id, settings)


@router.put("/v1/organisations/{tenant_id}/auto-assignment", dependencies=[JsonOnly])
async def configure_auto_assignment(
    body: AutoAssignmentIn, who: Keeper, services: ServicesDep
) -> AutoAssignmentOut:
    """Switch auto-assignment on (the queue is offered at once) or off."""
    settings = await services.auto_assignment.configure(
        who.tenant_id, enabled=body.enabled, default_capacity=body.default_capacity, actor=who.actor
    )
    return await _auto(services, who.tenant_id, settings)


@router.put(
    "/v1/organisations/{tenant_id}/auto-assignment/capacities/{account_id}",
    dependencies=[JsonOnly],
)
async def set_capacity(
    account_id: Id, body: CapacityIn, who: Keeper, services: ServicesDep
) -> AutoAssignmentOut:
    """A member's own capacity (null: the organisation's default); another organisation's
    member is not found."""
    await services.auto_assignment.set_capacity(
        who.tenant_id, account_id, body.capacity, actor=who.actor
    )
    settings = await services.auto_assignment.settings(who.tenant_id)
    return await _auto(services, who.tenant_id, settings)
