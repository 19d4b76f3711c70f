"""Customers' thumbs up or down on the assistant's answers (issue 23, docs/protocol.md §3.5).

A customer may give one of the assistant's messages in their own conversation a thumbs up or
down, once: the first stands (a second is `feedback_given`), so a count is never taken back and
a report of a closed period never changes. What may be rated is a message the assistant wrote
in a turn (it has a turn record, assistant_turns) of the customer's conversation: anything else
(their own message, a person's, another conversation's answer) is `not_an_answer`, one answer
for all, so the frame tells nothing of other conversations.

The thumbs are kept with the turn (`assistant_turns.thumbs`) and counted for reports: the
figure `assistant.thumbs` (detail up or down) and, per passage the answer cited,
`assistant.cited.thumbs_up` / `…_down` (rollups). A thumbs down on an answer (answered, or
the fallback's passage) also keeps the customer's question that preceded it for the knowledge
gaps, masked and sealed like the questions the assistant abstained on, marked "unhelpful"
(knowledge/gaps.py); a failure to keep it is the report's loss, not the customer's.
"""

from __future__ import annotations

import logging
from enum import StrEnum

from parlour.assistant.locks import KeyedLock
from parlour.assistant.models import Outcome, TurnRecord
from parlour.assistant.repository import AssistantRepository
from parlour.chat.service import ChatService
from parlour.errors import Conflict, InvalidInput
from parlour.knowledge.models import GapKind
from parlour.knowledge.service import KnowledgeService
from parlour.rollups.models import Figure
from parlour.rollups.tally import Tally
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

log = logging.getLogger(__name__)

# The turns whose thumbs down sends their question to the knowledge gaps: those that answered
# from the knowledge. An abstention's question is kept already; a block or a refusal is not a
# gap in the knowledge.
ANSWERS = frozenset({Outcome.ANSWERED, Outcome.FALLBACK})


class Thumbs(StrEnum):
    UP = "up"
    DOWN = "down"


CITED = {Thumbs.UP: Figure.CITED_THUMBS_UP, Thumbs.DOWN: Figure.CITED_THUMBS_DOWN}


class NotAnAnswer(InvalidInput):
    code = "not_an_answer"
    default_message = "Only the assistant's answers in this conversation can be rated."


class FeedbackGiven(Conflict):
    code = "feedback_given"
    default_message = "This answer was rated already; the first rating stands."


class AnswerFeedback:
    def __init__(
        self,
        db: Database,
        chat: ChatService,
        knowledge: KnowledgeService,
        tally: Tally,
        turns: KeyedLock,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._turns = turns  # the assistant's lock per conversation, held for each turn
        self._db = db
        self._chat = chat
        self._knowledge = knowledge
        self._tally = tally
        self._clock = clock

    async def give(
        self, tenant_id: str, conversation_id: str, message_id: str, thumbs: str
    ) -> Thumbs:
        """Keep the conversation's customer's thumbs on one of its answers; counted at once,
        and a thumbs down's question kept for the knowledge gaps."""
        given = Thumbs(thumbs)
        turn = await self._turn(tenant_id, message_id)
        if turn is None:
            # An answer is posted a moment before its turn is recorded, under the
            # conversation's turn lock: once this node's turn there is over, it is recorded.
            async with self._turns.hold((tenant_id, conversation_id)):
                turn = await self._turn(tenant_id, message_id)
        if turn is None or turn.conversation_id != conversation_id:
            raise NotAnAnswer()
        async with self._db.transaction(tenant_id) as conn:
            kept = await AssistantRepository(conn).give_thumbs(
                tenant_id, message_id, given.value, self._clock()
            )
        if not kept:
            raise FeedbackGiven()
        self._tally.add(tenant_id, Figure.THUMBS, given.value)
        if turn.outcome is not Outcome.OFFERED:  # an offer's entries are not cited
            for entry_id in turn.chunk_ids:
                self._tally.add(tenant_id, CITED[given], entry_id)
        if given is Thumbs.DOWN and turn.outcome in ANSWERS:
            await self._keep_question(tenant_id, conversation_id, message_id)
        return given

    async def _turn(self, tenant_id: str, message_id: str) -> TurnRecord | None:
        async with self._db.read(tenant_id) as conn:
            return await AssistantRepository(conn).turn(tenant_id, message_id)

    async def _keep_question(self, tenant_id: str, conversation_id: str, message_id: str) -> None:
        try:
            question = await self._chat.question_before(tenant_id, conversation_id, message_id)
            if question is not None:
                await self._knowledge.gaps.record(
                    tenant_id,
                    question.message_id,
                    conversation_id,
                    question.body,
                    kind=GapKind.UNHELPFUL,
                )
        except Exception:
            log.exception(
                "keeping an unhelpful answer's question failed", extra={"tenant_id": tenant_id}
            )
