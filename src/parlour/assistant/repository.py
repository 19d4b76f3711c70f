"""SQL for the assistant: settings, prompt template versions, turn records; every method takes
`tenant_id` first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.assistant.models import (
    AssistantPolicy,
    Outcome,
    OutcomeCount,
    TemplateVersion,
    TurnRecord,
)
from parlour.storage.dialect import upsert
from parlour.storage.tables import assistant_settings, assistant_turns, prompt_templates


class AssistantRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def policy(self, tenant_id: str) -> AssistantPolicy:
        t = assistant_settings.c
        row = (
            await self._conn.execute(
                select(
                    t.provider,
                    t.external_allowed,
                    t.enabled,
                    t.template_version,
                    t.tools_enabled,
                    t.external_consent,
                    t.personalisation,
                ).where(t.tenant_id == tenant_id)
            )
        ).first()
        return AssistantPolicy(*row) if row else AssistantPolicy()

    async def set_policy(self, tenant_id: str, policy: AssistantPolicy, at: datetime) -> None:
        values = {
            "tenant_id": tenant_id,
            "provider": policy.provider,
            "external_allowed": policy.external_allowed,
            "enabled": policy.enabled,
            "template_version": policy.template_version,
            "tools_enabled": policy.tools_enabled,
            "external_consent": policy.external_consent,
            "personalisation": policy.personalisation,
            "updated_at": at,
        }
        await self._conn.execute(
            upsert(self._conn, assistant_settings, values, ["tenant_id"], list(values)[1:])
        )

    async def add_template(self, tenant_id: str, template: TemplateVersion) -> None:
        await self._conn.execute(
            insert(prompt_templates).values(
                tenant_id=tenant_id,
                version=template.version,
                body=template.body,
                sha256=template.sha256,
                created_by=template.created_by,
                created_at=template.created_at,
            )
        )

    async def latest_template_number(self, tenant_id: str) -> int:
        t = prompt_templates.c
        return int(
            (
                await self._conn.execute(
                    select(func.coalesce(func.max(t.version), 0)).where(t.tenant_id == tenant_id)
                )
            ).scalar_one()
        )

    async def template(self, tenant_id: str, version: int) -> TemplateVersion | None:
        t = prompt_templates.c
        row = (
            await self._conn.execute(
                select(prompt_templates).where(t.tenant_id == tenant_id, t.version == version)
            )
        ).first()
        return _template(row) if row else None

    async def templates(self, tenant_id: str) -> list[TemplateVersion]:
        t = prompt_templates.c
        rows = await self._conn.execute(
            select(prompt_templates).where(t.tenant_id == tenant_id).order_by(t.version.desc())
        )
        return [_template(row) for row in rows]

    async def record_turn(self, record: TurnRecord) -> None:
        await self._conn.execute(
            insert(assistant_turns).values(
                tenant_id=record.tenant_id,
                message_id=record.message_id,
                conversation_id=record.conversation_id,
                outcome=record.outcome.value,
                provider=record.provider,
                model=record.model,
                template_version=record.template_version,
                knowledge_version=record.knowledge_version,
                chunk_ids=list(record.chunk_ids),
                input_tokens=record.input_tokens,
                output_tokens=record.output_tokens,
                created_at=record.created_at,
                reason=record.reason,
                question_id=record.question_id,
            )
        )

    async def give_thumbs(self, tenant_id: str, message_id: str, thumbs: str, at: datetime) -> bool:
        """Keep the customer's thumbs on the turn's answer, unless it has some already (the
        first stands): True when kept."""
        t = assistant_turns.c
        result = await self._conn.execute(
            update(assistant_turns)
            .where(t.tenant_id == tenant_id, t.message_id == message_id, t.thumbs.is_(None))
            .values(thumbs=thumbs, thumbs_at=at)
        )
        return result.rowcount == 1

    async def choose(self, tenant_id: str, message_id: str, choice: str, at: datetime) -> bool:
        """Keep the customer's pick among the offer's choices, unless it has one already (the
        first stands): True when kept."""
        t = assistant_turns.c
        result = await self._conn.execute(
            update(assistant_turns)
            .where(t.tenant_id == tenant_id, t.message_id == message_id, t.choice.is_(None))
            .values(choice=choice, chosen_at=at)
        )
        return result.rowcount == 1

    async def turn(self, tenant_id: str, message_id: str) -> TurnRecord | None:
        t = assistant_turns.c
        row = (
            await self._conn.execute(
                select(assistant_turns).where(t.tenant_id == tenant_id, t.message_id == message_id)
            )
        ).first()
        return None if row is None else _turn(row)

    async def turns_in(self, tenant_id: str, conversation_id: str, limit: int) -> list[TurnRecord]:
        """The conversation's latest turns, oldest first."""
        t = assistant_turns.c
        rows = await self._conn.execute(
            select(assistant_turns)
            .where(t.tenant_id == tenant_id, t.conversation_id == conversation_id)
            .order_by(t.created_at.desc(), t.message_id.desc())
            .limit(limit)
        )
        return [_turn(row) for row in reversed(list(rows))]

    async def outcome_counts(self, tenant_id: str, since: datetime) -> list[OutcomeCount]:
        """The tenant's turns since `since`, counted by outcome and reason."""
        t = assistant_turns.c
        rows = await self._conn.execute(
            select(t.outcome, t.reason, func.count())
            .where(t.tenant_id == tenant_id, t.created_at >= since)
            .group_by(t.outcome, t.reason)
            .order_by(t.outcome, t.reason)
        )
        return [OutcomeCount(Outcome(outcome), reason, int(n)) for outcome, reason, n in rows]

    async def tokens_used(self, tenant_id: str) -> tuple[int, int]:
        """Input and output tokens of every turn of the tenant (for its bill)."""
        t = assistant_turns.c
        row = (
            await self._conn.execute(
                select(
                    func.coalesce(func.sum(t.input_tokens), 0),
                    func.coalesce(func.sum(t.output_tokens), 0),
                ).where(t.tenant_id == tenant_id)
            )
        ).one()
        return int(row[0]), int(row[1])


def _turn(row: Row[tuple[object, ...]]) -> TurnRecord:
    m = row._mapping
    return TurnRecord(
        tenant_id=m["tenant_id"],
        message_id=m["message_id"],
        conversation_id=m["conversation_id"],
        outcome=Outcome(m["outcome"]),
        provider=m["provider"],
        model=m["model"],
        template_version=m["template_version"],
        knowledge_version=m["knowledge_version"],
        created_at=m["created_at"],
        chunk_ids=tuple(m["chunk_ids"]),
        input_tokens=m["input_tokens"],
        output_tokens=m["output_tokens"],
        reason=m["reason"],
        question_id=m["question_id"],
    )


def _template(row: Row[tuple[object, ...]]) -> TemplateVersion:
    m = row._mapping
    return TemplateVersion(
        version=m["version"],
        body=m["body"],
        sha256=m["sha256"],
        created_by=m["created_by"],
        created_at=m["created_at"],
    )
