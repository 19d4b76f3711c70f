"""What a finished turn leaves for reports: its record (how it ended, what it was made from:
provider, model, template and knowledge versions, passages, tokens), the conversation's last
turn outcome (chat/milestones.py), the counts (turns, reasons, tokens, citations, blocked
answers: rollups), and, when it abstained, the customer's question for the knowledge gaps.

The record and counts are made before the turn lets the conversation's next one start; the
unanswered question after, off the conversation's lock (the service's `_answer`): embedding and
storing it is the report's cost, not the customer's. A failure to keep it is the report's loss,
not the turn's.
"""

from __future__ import annotations

import logging

from parlour.assistant.draft import Draft
from parlour.assistant.models import Outcome, TurnRecord
from parlour.assistant.repository import AssistantRepository
from parlour.chat.milestones import MilestoneRepository
from parlour.chat.models import Message
from parlour.knowledge.service import KnowledgeService
from parlour.rollups.models import Figure
from parlour.rollups.tally import Tally
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

log = logging.getLogger(__name__)


class TurnReports:
    def __init__(
        self,
        db: Database,
        knowledge: KnowledgeService,
        tally: Tally,
        *,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._knowledge = knowledge
        self._tally = tally
        self._clock = clock

    async def record(self, answer: Message, draft: Draft) -> None:
        """The turn's record and the conversation's last outcome, in one transaction; then its
        counts."""
        record = TurnRecord(
            tenant_id=answer.tenant_id,
            message_id=answer.message_id,
            conversation_id=answer.conversation_id,
            outcome=draft.outcome,
            provider=draft.provider.name,
            model=draft.provider.model,
            template_version=draft.template_version,
            knowledge_version=await self._knowledge.published_version(answer.tenant_id),
            created_at=self._clock(),
            chunk_ids=draft.cited_entry_ids,
            input_tokens=draft.usage.input_tokens,
            output_tokens=draft.usage.output_tokens,
            reason=draft.reason,
            question_id=draft.question_id,
        )
        async with self._db.transaction(record.tenant_id) as conn:
            await AssistantRepository(conn).record_turn(record)
            await MilestoneRepository(conn).turn_ended(
                record.tenant_id, record.conversation_id, record.outcome.value
            )
        self._count(record)

    def _count(self, record: TurnRecord) -> None:
        tally, tenant_id = self._tally, record.tenant_id
        tally.add(tenant_id, Figure.TURNS, record.outcome.value)
        if record.reason:
            tally.add(tenant_id, Figure.TURN_REASONS, record.reason)
        if record.outcome is Outcome.BLOCKED:
            tally.add(tenant_id, Figure.BLOCKED_ANSWERS, record.reason or "")
        tally.add(tenant_id, Figure.INPUT_TOKENS, n=record.input_tokens)
        tally.add(tenant_id, Figure.OUTPUT_TOKENS, n=record.output_tokens)
        if record.outcome is Outcome.OFFERED:
            return  # offered entries are not cited
        for entry_id in record.chunk_ids:
            tally.add(tenant_id, Figure.CITATIONS, entry_id)

    async def keep_unanswered(self, question: Message, draft: Draft) -> None:
        """A question the knowledge could not answer, kept for the gaps report (masked and
        sealed there, knowledge/gaps.py), with retrieval's embedding of it when it made one."""
        try:
            await self._knowledge.gaps.record(
                question.tenant_id,
                question.message_id,
                question.conversation_id,
                question.body,
                vector=draft.question_vector,
            )
        except Exception:
            log.exception(
                "keeping an unanswered question failed", extra={"tenant_id": question.tenant_id}
            )
