"""A customer's pick among the entries an unsure turn offered ("Did you mean …?", issue 23,
item 2; docs/protocol.md §3.6).

An offer is an assistant's message whose turn (assistant_turns) ended `offered`, with the
offered entries as its passages, in order; its choices name them by place ("1", "2", …), so a
pick names nothing but a place in an offer the server made. A pick is taken when:
- the message is an offer of the customer's own conversation (anything else, another
  conversation's or organisation's offer included, is `not_an_offer`, one answer for all, so
  the frame tells nothing of other conversations), and the choice is one of its places;
- it is the offer's first pick (a second is `already_chosen`; the first stands);
- it still can be answered (`offer_stale`): the conversation is still the assistant's, and the
  chosen entry is still live.
Then, in the background like any turn: the assistant answers the customer's question from the
chosen entry (the real turn: the configured provider or the extractive answer, through the
output filter), recorded as `chosen`; and the question becomes a learned phrasing of the entry
for this organisation (knowledge/learned.py), if its rules allow.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from parlour.assistant.locks import KeyedLock
from parlour.assistant.models import Outcome, TurnRecord
from parlour.assistant.repository import AssistantRepository
from parlour.assistant.tools import Subject
from parlour.chat.models import ConversationStatus, Message
from parlour.chat.service import ChatService
from parlour.errors import Conflict, InvalidInput
from parlour.keys.models import EndUser
from parlour.knowledge.models import FaqEntry, Hit
from parlour.knowledge.service import KnowledgeService
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

log = logging.getLogger(__name__)

# Answers the customer's question from the chosen entry (AssistantService.answer, `chosen`).
Answer = Callable[[Message, Subject, Hit], Awaitable[Message | None]]


class NotAnOffer(InvalidInput):
    code = "not_an_offer"
    default_message = "Only a choice the assistant offered in this conversation can be picked."


class AlreadyChosen(Conflict):
    code = "already_chosen"
    default_message = "A choice was picked already; the first pick stands."


class OfferStale(Conflict):
    code = "offer_stale"
    default_message = "This choice can no longer be answered; ask again, or ask for a person."


class Choices:
    def __init__(
        self,
        db: Database,
        chat: ChatService,
        knowledge: KnowledgeService,
        turns: KeyedLock,
        answer: Answer,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._chat = chat
        self._knowledge = knowledge
        self._turns = turns  # the assistant's lock per conversation, held for each turn
        self._answer = answer
        self._clock = clock
        self._picks: set[asyncio.Task[None]] = set()

    async def choose(
        self, tenant_id: str, conversation_id: str, message_id: str, choice: str, asker: EndUser
    ) -> str:
        """Take the customer's pick of `choice` in the offer `message_id` of their conversation;
        the answer follows as a message, and the question is learned (both in the background)."""
        turn = await self._turn(tenant_id, message_id)
        if turn is None:
            # An offer is posted a moment before its turn is recorded, under the
            # conversation's turn lock: once this node's turn there is over, it is recorded.
            async with self._turns.hold((tenant_id, conversation_id)):
                turn = await self._turn(tenant_id, message_id)
        if (
            turn is None
            or turn.tenant_id != tenant_id
            or turn.conversation_id != conversation_id
            or turn.outcome is not Outcome.OFFERED
        ):
            raise NotAnOffer()
        place = int(choice) if choice.isascii() and choice.isdigit() else 0
        if not 1 <= place <= len(turn.chunk_ids):
            raise NotAnOffer()
        if turn.question_id is not None:  # the question the offer answered
            question = await self._chat.message(tenant_id, conversation_id, turn.question_id)
        else:
            question = await self._chat.question_before(tenant_id, conversation_id, message_id)
        conversation = await self._chat.get_conversation(tenant_id, conversation_id)
        entry = await self._knowledge.live_entry(tenant_id, turn.chunk_ids[place - 1])
        if question is None or entry is None or conversation.status is not ConversationStatus.BOT:
            raise OfferStale()
        async with self._db.transaction(tenant_id) as conn:
            taken = await AssistantRepository(conn).choose(
                tenant_id, message_id, str(place), self._clock()
            )
        if not taken:
            raise AlreadyChosen()
        subject = Subject(tenant_id, asker.user_id, dict(asker.traits), visitor=asker.visitor)
        task = asyncio.create_task(self._follow(question, subject, entry))
        self._picks.add(task)
        task.add_done_callback(self._picks.discard)
        return str(place)

    async def _follow(self, question: Message, subject: Subject, entry: FaqEntry) -> None:
        """Answer from the chosen entry (the task starts with the caller's context: traced and
        logged under the frame's), then learn the question; a failure to learn is the
        knowledge's loss, not the customer's."""
        try:
            # The turn fails closed itself (a person offered); this is a fault around it.
            await self._answer(question, subject, Hit(entry, score=1.0, confidence=1.0))
        except Exception:
            log.exception("answering a pick failed", extra={"tenant_id": question.tenant_id})
        try:
            await self._knowledge.learned.learn(
                question.tenant_id, entry, question.body, customer=subject.user_id
            )
        except Exception:
            log.exception("learning a phrasing failed", extra={"tenant_id": question.tenant_id})

    async def settled(self) -> None:
        """Wait for the picks' answers and learning under way (closing, and tests)."""
        if self._picks:
            await asyncio.gather(*self._picks, return_exceptions=True)

    async def _turn(self, tenant_id: str, message_id: str) -> TurnRecord | None:
        async with self._db.read(tenant_id) as conn:
            return await AssistantRepository(conn).turn(tenant_id, message_id)
