"""The agents' side of a conversation's life with people (chat/lifecycle.py): the conversations
waiting for a person, with one, waiting on the customer, snoozed or resolved; a person's replies,
assignment, resolution and reopening. Every step that changes who handles a conversation is
audited with the person who took it, never the text (T-89); a reply carries the person's
display name as it is when sent. Each is a compare-and-set: a step that finds the conversation
changed under it is refused (`Conflict`) rather than undoing someone else's (T-100)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import (
    Actor,
    AgentReplied,
    AuditEvent,
    ConversationAssigned,
    ConversationPending,
    ConversationReopened,
    ConversationResolved,
    ConversationReturned,
    ConversationSnoozed,
    ConversationTaken,
    ConversationUnassigned,
)
from parlour.audit.service import AuditLog
from parlour.chat import lifecycle
from parlour.chat.customer_mail import CustomerMail
from parlour.chat.desk_marks import DeskMarks
from parlour.chat.lifecycle import Keep
from parlour.chat.milestones import MilestoneRepository
from parlour.chat.models import Author, Conversation, ConversationStatus, Message
from parlour.chat.service import ChatService, Moved
from parlour.errors import Conflict, InvalidInput, NotFound
from parlour.identity.membership_repository import MembershipRepository
from parlour.identity.policy import Permission, role_grants
from parlour.identity.repository import AccountRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

S = ConversationStatus
# The desk lists what people handle; the assistant's own conversations are not its business.
DESK_STATUSES = (S.QUEUED, S.ASSIGNED, S.PENDING, S.SNOOZED, S.RESOLVED)
MAX_SNOOZE = timedelta(days=366)


class AgentDesk:
    def __init__(
        self,
        db: Database,
        chat: ChatService,
        audit: AuditLog,
        *,
        clock: Clock = utcnow,
        marks: DeskMarks | None = None,
        customer_mail: CustomerMail | None = None,
    ) -> None:
        self._db = db
        self._chat = chat
        # What each member has read, for their own unread counts on any device.
        self._marks = marks or DeskMarks(db, clock=clock)
        # Mails a reply to a customer who left an address and is not there to read it.
        self._customer_mail = customer_mail
        self._audit = audit
        self._clock = clock

    async def conversations(
        self,
        tenant_id: str,
        status: ConversationStatus,
        *,
        limit: int,
        team_id: str | None = None,
    ) -> list[Conversation]:
        """Those in `status` (in `team_id`'s queue only, when given), the longest quiet first;
        snoozed ones whose time has come wake first (back to their person, or to the queue)."""
        if status not in DESK_STATUSES:
            raise InvalidInput(
                "list the conversations that are queued, assigned, pending, snoozed or resolved"
            )
        await self._chat.wake(tenant_id)
        return await self._chat.with_status(tenant_id, status, limit=limit, team_id=team_id)

    async def reply(
        self,
        tenant_id: str,
        conversation_id: str,
        text: str,
        *,
        actor: Actor,
        attachment_ids: Sequence[str] = (),
    ) -> Message:
        """A person's message to the customer. The first one takes the conversation, from the
        queue or from the assistant, which answers no more; the customer is told a person
        joined before they read the reply. A conversation someone has stays theirs.
        `attachment_ids`: files the organisation's people uploaded to this conversation that
        no message took yet (chat/attachments.py); the text may then be empty."""
        refs = (
            await self._chat.attachments_to_send(
                tenant_id, conversation_id, Author.AGENT, attachment_ids
            )
            if attachment_ids
            else ()
        )
        body = self._chat.clean_text(text) if text.strip() or not refs else ""
        taken = await self._chat.move(tenant_id, conversation_id, lifecycle.taken_by(actor.id))
        if self._customer_mail is not None:
            await self._customer_mail.reply_coming(tenant_id, conversation_id)
        message = await self._chat.post(
            tenant_id,
            conversation_id,
            author=Author.AGENT,
            body=body,
            author_name=await self.display_name(actor.id),
            attachments=refs,
        )
        events: list[AuditEvent] = [ConversationTaken(conversation_id)] if taken else []
        events.append(AgentReplied(conversation_id, message.message_id))
        async with self._recording(tenant_id, events, actor) as conn:
            await MilestoneRepository(conn).answered_by_person(
                tenant_id, conversation_id, actor.id, message.created_at
            )
        return message

    async def display_name(self, account_id: str) -> str | None:
        """The name the customer sees on the member's replies (and typing), as it is now: a
        reply keeps the name it was sent under (store at send), so renaming oneself later does
        not rewrite what customers were shown."""
        async with self._db.read() as conn:
            return await AccountRepository(conn).display_name(account_id)

    async def read(self, tenant_id: str, conversation_id: str, seq: int, *, actor: Actor) -> bool:
        """The member has seen the conversation up to `seq`: kept for them (their unread
        counts), told to their other pages, and to the customer as the people's read receipt
        (only ever forward: False when the people had seen that far already)."""
        conversation = await self._chat.get_conversation(tenant_id, conversation_id)
        if seq > conversation.last_seq:
            raise InvalidInput("seq is beyond the conversation's latest message")
        await self._marks.mark_read(tenant_id, actor.id, conversation_id, seq)
        return await self._chat.mark_read(
            tenant_id, conversation_id, Author.AGENT, seq, account_id=actor.id
        )

    async def typing(
        self, tenant_id: str, conversation_id: str, active: bool, *, actor: Actor
    ) -> None:
        """A member is (or stopped) typing: the customer sees "<name> is typing…"."""
        await self._chat.get_conversation(tenant_id, conversation_id)
        name = await self.display_name(actor.id)
        await self._chat.set_typing(
            tenant_id, conversation_id, Author.AGENT, active, account_id=actor.id, name=name
        )

    async def take(self, tenant_id: str, conversation_id: str, *, actor: Actor) -> Conversation:
        """Assign it to oneself, if nobody has it (Conflict when someone does)."""
        move = lifecycle.taken_by(actor.id, waiting=True)
        moved = await self._chat.move(tenant_id, conversation_id, move)
        if moved is not None:
            await self._record(tenant_id, [ConversationTaken(conversation_id)], actor)
        return await self._after(tenant_id, conversation_id, moved, S.ASSIGNED, actor.id)

    async def assign(
        self, tenant_id: str, conversation_id: str, account_id: str, *, actor: Actor
    ) -> Conversation:
        """Give an open conversation to a member of the organisation whose role handles
        conversations, whoever had it. Anyone else is no such member here (T-98)."""
        async with self._db.read() as conn:
            membership = await MembershipRepository(conn).get(account_id, tenant_id)
        if membership is None:
            raise NotFound("no such member")
        if not role_grants(membership.role, Permission.HANDLE_CONVERSATIONS):
            raise InvalidInput("this member's role does not handle conversations")
        moved = await self._chat.move(tenant_id, conversation_id, lifecycle.assigned_to(account_id))
        if moved is not None:
            event = (
                ConversationTaken(conversation_id)
                if account_id == actor.id
                else ConversationAssigned(conversation_id, account_id)
            )
            await self._record(tenant_id, [event], actor)
        return await self._after(tenant_id, conversation_id, moved, S.ASSIGNED, account_id)

    async def unassign(self, tenant_id: str, conversation_id: str, *, actor: Actor) -> Conversation:
        """Back to the queue, with nobody assigned; the customer is told they wait."""
        moved = await self._chat.move(tenant_id, conversation_id, lifecycle.unassigned())
        if moved is not None:
            await self._record(tenant_id, [ConversationUnassigned(conversation_id)], actor)
        return await self._after(tenant_id, conversation_id, moved, S.QUEUED, None)

    async def set_pending(
        self, tenant_id: str, conversation_id: str, *, actor: Actor
    ) -> Conversation:
        """Waiting on the customer, whose next message brings it back."""
        moved = await self._chat.move(tenant_id, conversation_id, lifecycle.pending())
        if moved is not None:
            await self._record(tenant_id, [ConversationPending(conversation_id)], actor)
        return await self._after(tenant_id, conversation_id, moved, S.PENDING)

    async def snooze(
        self, tenant_id: str, conversation_id: str, until: datetime, *, actor: Actor
    ) -> Conversation:
        """Put aside until `until` (or the customer's next message)."""
        now = self._clock()
        if until.tzinfo is None or not now < until <= now + MAX_SNOOZE:
            raise InvalidInput("snooze until a time to come, within a year, with its offset")
        moved = await self._chat.move(tenant_id, conversation_id, lifecycle.snoozed(until))
        if moved is not None:
            event = ConversationSnoozed(conversation_id, until.astimezone(UTC).isoformat())
            await self._record(tenant_id, [event], actor)
        return await self._after(tenant_id, conversation_id, moved, S.SNOOZED)

    async def resolve(self, tenant_id: str, conversation_id: str, *, actor: Actor) -> Conversation:
        """Resolved, its assignee kept (a customer's next message goes back to them); the
        customer is told. Resolving a resolved conversation changes nothing."""
        moved = await self._chat.move(tenant_id, conversation_id, lifecycle.resolved())
        if moved is not None:
            await self._record(tenant_id, [ConversationResolved(conversation_id)], actor)
        return await self._after(tenant_id, conversation_id, moved, S.RESOLVED)

    async def reopen(self, tenant_id: str, conversation_id: str, *, actor: Actor) -> Conversation:
        """A resolved conversation back to its assignee, else to the queue (Conflict when it is
        not resolved)."""
        for move in lifecycle.reopened_by_member():
            moved = await self._chat.move(tenant_id, conversation_id, move)
            if moved is not None:
                await self._record(tenant_id, [ConversationReopened(conversation_id)], actor)
                return await self._chat.get_conversation(tenant_id, conversation_id)
        conversation = await self._chat.get_conversation(tenant_id, conversation_id)
        raise Conflict(f"the conversation is {conversation.status.value}, not resolved")

    async def return_to_assistant(
        self, tenant_id: str, conversation_id: str, *, actor: Actor
    ) -> bool:
        """Hand the conversation back to the assistant, which answers the customer's next
        message; False when it was with the assistant already (or resolved)."""
        moved: Moved | None = await self._chat.move(
            tenant_id, conversation_id, lifecycle.returned_to_assistant()
        )
        if moved is not None:
            # Handing back ends a person's part: it counts as resolved (its move says so).
            await self._record(tenant_id, [ConversationReturned(conversation_id)], actor)
        return moved is not None

    async def _after(
        self,
        tenant_id: str,
        conversation_id: str,
        moved: Moved | None,
        status: ConversationStatus,
        assignee: str | Keep | None = Keep.ASSIGNEE,
    ) -> Conversation:
        """The conversation after a step. A refused step is fine when the conversation is as
        the step would leave it (an equal step came first); otherwise Conflict, naming what it
        is instead."""
        conversation = await self._chat.get_conversation(tenant_id, conversation_id)
        if moved is not None or (
            conversation.status is status
            and (isinstance(assignee, Keep) or conversation.assignee == assignee)
        ):
            return conversation
        held = " and someone has it" if conversation.assignee else ""
        raise Conflict(f"the conversation is {conversation.status.value}{held}")

    async def _record(self, tenant_id: str, events: Sequence[AuditEvent], actor: Actor) -> None:
        async with self._recording(tenant_id, events, actor):
            pass

    @contextlib.asynccontextmanager
    async def _recording(
        self, tenant_id: str, events: Sequence[AuditEvent], actor: Actor
    ) -> AsyncIterator[AsyncConnection]:
        """The audit of a step and its milestone, right after its messages are stored, in a
        transaction of its own: theirs is the writer's group commit, shared with other
        conversations' messages."""
        async with self._db.transaction(tenant_id) as conn:
            for event in events:
                await self._audit.record(conn, tenant_id, event, actor)
            yield conn
