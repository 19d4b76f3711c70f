"""SQL for audit chains. A chain is named by its tenant id (or "platform"); every method takes it
first. Nothing here updates or deletes an event, except deleting a deleted tenant's whole chain."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.chain import GENESIS, AuditRecord
from parlour.audit.checkpoints import Checkpoint
from parlour.storage.dialect import upsert
from parlour.storage.tables import audit_checkpoints, audit_events, audit_heads


class AuditRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock_head(self, chain: str) -> tuple[int, str]:
        """The chain's head, locked until the transaction ends, so appends are serialised."""
        await self._conn.execute(
            upsert(
                self._conn,
                audit_heads,
                {"tenant_id": chain, "seq": 0, "hash": GENESIS},
                keys=["tenant_id"],
                update=[],
            )
        )
        row = (
            await self._conn.execute(
                select(audit_heads.c.seq, audit_heads.c.hash)
                .where(audit_heads.c.tenant_id == chain)
                .with_for_update()
            )
        ).one()
        return int(row.seq), str(row.hash)

    async def head(self, chain: str) -> tuple[int, str] | None:
        row = (
            await self._conn.execute(
                select(audit_heads.c.seq, audit_heads.c.hash).where(
                    audit_heads.c.tenant_id == chain
                )
            )
        ).first()
        return (int(row.seq), str(row.hash)) if row else None

    async def append(self, chain: str, record: AuditRecord) -> None:
        await self._conn.execute(
            insert(audit_events).values(
                tenant_id=chain,
                seq=record.seq,
                event_id=record.event_id,
                occurred_at=record.occurred_at,
                action=record.action,
                actor_type=record.actor_type,
                actor_id=record.actor_id,
                source_ip=record.source_ip,
                request_id=record.request_id,
                data=record.data,
                prev_hash=record.prev_hash,
                hash=record.hash,
            )
        )
        await self._conn.execute(
            update(audit_heads)
            .where(audit_heads.c.tenant_id == chain)
            .values(seq=record.seq, hash=record.hash)
        )

    async def recent(
        self,
        chain: str,
        *,
        limit: int,
        before_seq: int | None = None,
        action_prefix: str | None = None,
        actor_id: str | None = None,
    ) -> list[AuditRecord]:
        """Newest first, optionally filtered; `before_seq` pages back through the chain."""
        query = select(audit_events).where(audit_events.c.tenant_id == chain)
        if before_seq is not None:
            query = query.where(audit_events.c.seq < before_seq)
        if action_prefix:
            escaped = action_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(audit_events.c.action.like(escaped + "%", escape="\\"))
        if actor_id:
            query = query.where(audit_events.c.actor_id == actor_id)
        rows = await self._conn.execute(query.order_by(audit_events.c.seq.desc()).limit(limit))
        return [_record(row) for row in rows]

    async def stream(self, chain: str) -> AsyncIterator[AuditRecord]:
        result = await self._conn.stream(
            select(audit_events)
            .where(audit_events.c.tenant_id == chain)
            .order_by(audit_events.c.seq)
        )
        async for row in result:
            yield _record(row)

    async def add_checkpoint(self, chain: str, checkpoint: Checkpoint) -> None:
        await self._conn.execute(
            insert(audit_checkpoints).values(
                tenant_id=chain,
                seq=checkpoint.seq,
                hash=checkpoint.hash,
                signed_at=checkpoint.signed_at,
                key_id=checkpoint.key_id,
                signature=checkpoint.signature,
            )
        )

    async def checkpoints(self, chain: str) -> list[Checkpoint]:
        rows = await self._conn.execute(
            select(audit_checkpoints)
            .where(audit_checkpoints.c.tenant_id == chain)
            .order_by(audit_checkpoints.c.seq)
        )
        return [
            Checkpoint(
                chain=r.tenant_id,
                seq=r.seq,
                hash=r.hash,
                signed_at=r.signed_at,
                key_id=r.key_id,
                signature=bytes(r.signature),
            )
            for r in rows
        ]

    async def latest_checkpoint_seq(self, chain: str) -> int:
        checkpoints = await self.checkpoints(chain)
        return checkpoints[-1].seq if checkpoints else 0

    async def delete_chain(self, chain: str) -> None:
        for table in (audit_events, audit_checkpoints, audit_heads):
            await self._conn.execute(delete(table).where(table.c.tenant_id == chain))

    async def all_chains(self) -> list[str]:
        rows = await self._conn.execute(
            select(audit_heads.c.tenant_id).order_by(audit_heads.c.tenant_id)
        )
        return list(rows.scalars())


def _record(row: Row[tuple[object, ...]]) -> AuditRecord:
    m = row._mapping
    return AuditRecord(
        chain=m["tenant_id"],
        seq=m["seq"],
        event_id=m["event_id"],
        occurred_at=m["occurred_at"],
        action=m["action"],
        actor_type=m["actor_type"],
        actor_id=m["actor_id"],
        source_ip=m["source_ip"],
        request_id=m["request_id"],
        data=m["data"],
        prev_hash=m["prev_hash"],
        hash=m["hash"],
    )
