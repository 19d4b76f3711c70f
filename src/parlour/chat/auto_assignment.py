"""Auto-assignment: optional per organisation, off by default. When a conversation waits in the
queue with nobody assigned, it is given, round-robin, to an agent who is available (presence),
whose role handles conversations, in the conversation's team when it has one, and who has fewer
assigned conversations than their capacity (their own, else the organisation's default). As in
Chatwoot, a capacity counts the conversations the agent has in `assigned`: those waiting on the
customer, snoozed or resolved leave room.

Race-free across nodes: the assignment is a compare-and-set `Move` (chat/lifecycle.py
`auto_assigned`) that holds only while the conversation is still queued with nobody assigned
and the agent still below capacity, counted in the move's own statement. SQLite runs one
writing transaction at a time, so that count is exact; on PostgreSQL each attempt also holds a
transaction-scoped advisory lock on the agent, so two nodes' counts for one agent never
overlap. The round-robin turn is a counter in the database that each offer advances
atomically, so concurrent offers start from different agents.

When nobody has room the conversation stays queued. The queue is offered again whenever a
move may have freed room or brought a conversation to it (every move the chat makes but
auto-assignment's own), and when a member becomes available (chat/presence.py)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Sequence

from sqlalchemy import text

from parlour.audit.events import (
    Actor,
    AutoAssignmentSet,
    ConversationAutoAssigned,
    MemberCapacitySet,
)
from parlour.audit.service import AuditLog
from parlour.chat import lifecycle
from parlour.chat.desk_repository import DeskMember, DeskRepository, DeskSettings
from parlour.chat.lifecycle import Move
from parlour.chat.models import Conversation, ConversationStatus
from parlour.chat.presence import Presence
from parlour.chat.service import ChatService
from parlour.errors import InvalidInput, NotFound
from parlour.identity.membership_repository import MembershipRepository
from parlour.storage.database import Database

log = logging.getLogger(__name__)

ACTOR = Actor.system("auto-assignment")
MAX_CAPACITY = 100
OFFERED = 50  # queued conversations offered at once, the longest waiting first
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))")


class AutoAssignment:
    def __init__(
        self, db: Database, chat: ChatService, presence: Presence, audit: AuditLog
    ) -> None:
        self._db = db
        self._chat = chat
        self._presence = presence
        self._audit = audit

    async def settings(self, tenant_id: str) -> DeskSettings:
        async with self._db.read(tenant_id) as conn:
            return await DeskRepository(conn).settings(tenant_id)

    async def configure(
        self, tenant_id: str, *, enabled: bool, default_capacity: int, actor: Actor
    ) -> DeskSettings:
        """Switch auto-assignment on or off, with the capacity of agents who have none of
        their own; switching it on offers the queue at once."""
        _check(default_capacity)
        settings = DeskSettings(enabled, default_capacity)
        async with self._db.transaction(tenant_id) as conn:
            await DeskRepository(conn).save_settings(tenant_id, settings)
            event = AutoAssignmentSet(enabled, default_capacity)
            await self._audit.record(conn, tenant_id, event, actor)
        await self.offer_queue(tenant_id)
        return settings

    async def set_capacity(
        self, tenant_id: str, account_id: str, capacity: int | None, *, actor: Actor
    ) -> None:
        """A member's own capacity (None: the organisation's default)."""
        if capacity is not None:
            _check(capacity)
        async with self._db.transaction(tenant_id) as conn:
            if await MembershipRepository(conn).get(account_id, tenant_id) is None:
                raise NotFound("no such member")
            await DeskRepository(conn).set_capacity(tenant_id, account_id, capacity)
            event = MemberCapacitySet(account_id, capacity)
            await self._audit.record(conn, tenant_id, event, actor)
        await self.offer_queue(tenant_id)

    async def capacities(self, tenant_id: str) -> dict[str, int | None]:
        """Each member's own capacity, None where they take the organisation's."""
        async with self._db.read(tenant_id) as conn:
            return {m.account_id: m.capacity for m in await DeskRepository(conn).members(tenant_id)}

    async def moved(self, tenant_id: str, conversation_id: str, move: Move | None) -> None:
        """The chat's listener: after any move but its own, offer the queue (the move may have
        queued a conversation, or freed someone's room)."""
        if move is not None and move.within is not None:
            return
        await self.offer_queue(tenant_id)

    async def became_available(self, tenant_id: str, account_id: str) -> None:
        """Presence's listener."""
        await self.offer_queue(tenant_id)

    async def offer_queue(self, tenant_id: str) -> int:
        """Offer the queued conversations nobody has, the longest waiting first, until nobody
        has room; how many were assigned. Never raises: what is not assigned stays queued
        and is offered again later."""
        try:
            return await self._offer_queue(tenant_id)
        except Exception:
            log.exception("auto-assignment failed; the queue stays as it is")
            return 0

    async def offer(self, tenant_id: str, conversation_id: str) -> bool:
        """Offer one conversation, if it is queued with nobody assigned and auto-assignment is
        on; True when an agent took it."""
        settings = await self.settings(tenant_id)
        conversation = await self._chat.get_conversation(tenant_id, conversation_id)
        if not settings.auto_assign or conversation.status is not ConversationStatus.QUEUED:
            return False
        if conversation.assignee is not None:
            return False
        available = await self._presence.available(tenant_id)
        return bool(available) and await self._offer(tenant_id, conversation, available, settings)

    async def _offer_queue(self, tenant_id: str) -> int:
        settings = await self.settings(tenant_id)
        if not settings.auto_assign:
            return 0
        queued = await self._chat.with_status(
            tenant_id, ConversationStatus.QUEUED, limit=OFFERED, unassigned=True
        )
        if not queued:
            return 0
        available = await self._presence.available(tenant_id)
        assigned = 0
        for conversation in queued:
            if not available:
                break
            if await self._offer(tenant_id, conversation, available, settings):
                assigned += 1
        return assigned

    async def _offer(
        self,
        tenant_id: str,
        conversation: Conversation,
        available: Sequence[DeskMember],
        settings: DeskSettings,
    ) -> bool:
        """Try the candidates in round-robin order from this offer's turn; True when one took
        the conversation."""
        candidates, conversation_id = list(available), conversation.conversation_id
        async with self._db.transaction(tenant_id) as conn:
            repo = DeskRepository(conn)
            if conversation.team_id is not None:
                team = set(await repo.team_of(tenant_id, conversation.team_id))
                candidates = [m for m in candidates if m.account_id in team]
            if not candidates:
                return False
            turn = await repo.next_turn(tenant_id)
        start = turn % len(candidates)
        for member in candidates[start:] + candidates[:start]:
            limit = member.capacity if member.capacity is not None else settings.default_capacity
            move = lifecycle.auto_assigned(member.account_id, limit)
            async with self._agent_lock(tenant_id, member.account_id):
                moved = await self._chat.move(tenant_id, conversation_id, move)
            if moved is not None:
                async with self._db.transaction(tenant_id) as conn:
                    given = ConversationAutoAssigned(conversation_id, member.account_id)
                    await self._audit.record(conn, tenant_id, given, ACTOR)
                return True
            current = await self._chat.get_conversation(tenant_id, conversation_id)
            if current.status is not ConversationStatus.QUEUED or current.assignee is not None:
                return False  # someone took it meanwhile
        return False

    @contextlib.asynccontextmanager
    async def _agent_lock(self, tenant_id: str, account_id: str) -> AsyncIterator[None]:
        """On PostgreSQL, one auto-assignment to an agent at a time, across nodes, held until
        the move committed; SQLite's single writer serialises the count by itself."""
        if self._db.is_sqlite:
            yield
            return
        async with self._db.transaction(tenant_id) as conn:
            await conn.execute(_LOCK, {"key": f"desk:{tenant_id}:{account_id}"})
            yield


def _check(capacity: int) -> None:
    if not 0 <= capacity <= MAX_CAPACITY:
        raise InvalidInput(f"a capacity is a number from 0 to {MAX_CAPACITY}")
