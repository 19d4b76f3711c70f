"""An organisation's teams: created, renamed and deleted by its owners and admins, with members
of the organisation whose role handles conversations (anyone else is no such member here:
T-98); and a conversation's team, whose queue it waits in and whose members auto-assignment
picks from. Every change is audited with the person who made it."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from parlour.audit.events import (
    Actor,
    ConversationTeamSet,
    TeamCreated,
    TeamDeleted,
    TeamMemberAdded,
    TeamMemberRemoved,
    TeamRenamed,
)
from parlour.audit.service import AuditLog
from parlour.chat.desk_repository import Team, TeamRepository
from parlour.chat.repository import ConversationRepository
from parlour.chat.service import ChatService
from parlour.errors import Conflict, InvalidInput, NotFound
from parlour.identifiers import first_refused
from parlour.identity.membership_repository import MembershipRepository
from parlour.identity.policy import Permission, role_grants
from parlour.storage.database import Database
from parlour.storage.ids import time_ordered_id
from parlour.storage.types import Clock, utcnow

MAX_NAME = 100


class Teams:
    def __init__(
        self, db: Database, chat: ChatService, audit: AuditLog, *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._chat = chat
        self._audit = audit
        self._clock = clock

    async def teams(self, tenant_id: str) -> list[Team]:
        async with self._db.read(tenant_id) as conn:
            return await TeamRepository(conn).all(tenant_id)

    async def get(self, tenant_id: str, team_id: str) -> Team:
        async with self._db.read(tenant_id) as conn:
            found = await TeamRepository(conn).all(tenant_id, team_id)
        if not found:
            raise NotFound("no such team")
        return found[0]

    async def create(self, tenant_id: str, name: str, *, actor: Actor) -> Team:
        team = Team(tenant_id, time_ordered_id(), _name(name), self._clock())
        try:
            async with self._db.transaction(tenant_id) as conn:
                repo = TeamRepository(conn)
                if await repo.named(tenant_id, team.name) is not None:
                    raise Conflict("a team of this organisation has that name already")
                await repo.insert(team)
                created = TeamCreated(team.team_id, team.name)
                await self._audit.record(conn, tenant_id, created, actor)
        except IntegrityError as error:  # the same name, created at the same moment
            raise Conflict("a team of this organisation has that name already") from error
        return team

    async def rename(self, tenant_id: str, team_id: str, name: str, *, actor: Actor) -> Team:
        name = _name(name)
        try:
            async with self._db.transaction(tenant_id) as conn:
                repo = TeamRepository(conn)
                if await repo.named(tenant_id, name) not in (None, team_id):
                    raise Conflict("a team of this organisation has that name already")
                if not await repo.rename(tenant_id, team_id, name):
                    raise NotFound("no such team")
                await self._audit.record(conn, tenant_id, TeamRenamed(team_id, name), actor)
        except IntegrityError as error:
            raise Conflict("a team of this organisation has that name already") from error
        return await self.get(tenant_id, team_id)

    async def delete(self, tenant_id: str, team_id: str, *, actor: Actor) -> None:
        """The team and its members go; its conversations stay, in no team's queue."""
        async with self._db.transaction(tenant_id) as conn:
            if not await TeamRepository(conn).delete(tenant_id, team_id):
                raise NotFound("no such team")
            await ConversationRepository(conn).leave_team(tenant_id, team_id)
            await self._audit.record(conn, tenant_id, TeamDeleted(team_id), actor)

    async def add_member(
        self, tenant_id: str, team_id: str, account_id: str, *, actor: Actor
    ) -> Team:
        """A member of the organisation whose role handles conversations; anyone else is no
        such member (T-98). Adding someone who is in the team already changes nothing."""
        async with self._db.transaction(tenant_id) as conn:
            membership = await MembershipRepository(conn).get(account_id, tenant_id)
            if membership is None:
                raise NotFound("no such member")
            if not role_grants(membership.role, Permission.HANDLE_CONVERSATIONS):
                raise InvalidInput("this member's role does not handle conversations")
            repo = TeamRepository(conn)
            if not await repo.all(tenant_id, team_id):
                raise NotFound("no such team")
            if await repo.add_member(tenant_id, team_id, account_id, self._clock()):
                event = TeamMemberAdded(team_id, account_id)
                await self._audit.record(conn, tenant_id, event, actor)
        return await self.get(tenant_id, team_id)

    async def remove_member(
        self, tenant_id: str, team_id: str, account_id: str, *, actor: Actor
    ) -> Team:
        async with self._db.transaction(tenant_id) as conn:
            if await TeamRepository(conn).remove_member(tenant_id, team_id, account_id):
                event = TeamMemberRemoved(team_id, account_id)
                await self._audit.record(conn, tenant_id, event, actor)
        return await self.get(tenant_id, team_id)

    async def place(
        self, tenant_id: str, conversation_id: str, team_id: str | None, *, actor: Actor
    ) -> None:
        """Put the conversation in `team_id`'s queue (None: in no team's), whoever has it; a
        compare-and-set of its team, audited when it changed. Auto-assignment then offers it
        to the team."""
        async with self._db.transaction(tenant_id) as conn:
            if team_id is not None and not await TeamRepository(conn).all(tenant_id, team_id):
                raise NotFound("no such team")
            changed = await ConversationRepository(conn).set_team(
                tenant_id, conversation_id, team_id
            )
            if changed:
                event = ConversationTeamSet(conversation_id, team_id)
                await self._audit.record(conn, tenant_id, event, actor)
        if not changed:
            await self._chat.get_conversation(tenant_id, conversation_id)  # NotFound, or as it was
            return
        await self._chat.changed(tenant_id, conversation_id)


def _name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidInput(f"a team's name has 1 to {MAX_NAME} characters")
    if first_refused(name) is not None:
        raise InvalidInput("a team's name may not contain control or invisible characters")
    return name
