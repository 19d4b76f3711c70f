"""Recording, verifying, checkpointing and exporting audit chains."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.chain import GENESIS, AuditRecord, canonical_json, record_hash, rehash
from parlour.audit.checkpoints import Checkpoint, CheckpointSigner
from parlour.audit.events import Actor, AuditEvent, AuditExported
from parlour.audit.repository import AuditRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class Verification:
    chain: str
    events: int
    checkpoints: int
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


class AuditLog:
    def __init__(
        self,
        db: Database,
        signer: CheckpointSigner,
        *,
        checkpoint_every: int = 100,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._signer = signer
        self._every = checkpoint_every
        self._clock = clock

    async def record(
        self, conn: AsyncConnection, chain: str, event: AuditEvent, actor: Actor
    ) -> AuditRecord:
        """Append `event` to `chain` inside the caller's transaction: the event exists exactly
        when the change it describes does."""
        repo = AuditRepository(conn)
        last_seq, prev_hash = await repo.lock_head(chain)
        fields = {
            "chain": chain,
            "seq": last_seq + 1,
            "event_id": str(uuid.uuid4()),
            "occurred_at": self._clock(),
            "action": event.action,
            "actor_type": actor.type.value,
            "actor_id": actor.id,
            "source_ip": actor.source_ip,
            "request_id": actor.request_id,
            "data": canonical_json(event.data()),
            "prev_hash": prev_hash,
        }
        record = AuditRecord(**fields, hash=record_hash(**fields))  # type: ignore[arg-type]
        await repo.append(chain, record)
        if record.seq % self._every == 0:
            await repo.add_checkpoint(
                chain, self._signer.sign(chain, record.seq, record.hash, record.occurred_at)
            )
        return record

    async def delete_chain(self, conn: AsyncConnection, chain: str) -> None:
        """Part of deleting a tenant: its chain goes with it (the platform chain records that)."""
        await AuditRepository(conn).delete_chain(chain)

    async def checkpoint(self, chain: str) -> Checkpoint | None:
        """Sign the chain's current head, unless it is already signed."""
        async with self._db.transaction() as conn:
            repo = AuditRepository(conn)
            seq, head_hash = await repo.lock_head(chain)
            if seq == 0 or seq == await repo.latest_checkpoint_seq(chain):
                return None
            checkpoint = self._signer.sign(chain, seq, head_hash, self._clock())
            await repo.add_checkpoint(chain, checkpoint)
            return checkpoint

    async def checkpoint_all(self) -> int:
        signed = 0
        for chain in await self.chains():
            signed += await self.checkpoint(chain) is not None
        return signed

    async def chains(self) -> list[str]:
        async with self._db.read() as conn:
            return await AuditRepository(conn).all_chains()

    async def verify(self, chain: str) -> Verification:
        async with self._db.read() as conn:
            repo = AuditRepository(conn)
            checkpoints = await repo.checkpoints(chain)
            head = await repo.head(chain)
            signed = {c.seq: c for c in checkpoints}
            events, problem = 0, None
            prev_hash = GENESIS
            async for record in repo.stream(chain):
                problem = _check(record, events + 1, prev_hash)
                checkpoint = signed.get(record.seq)
                if problem is None and checkpoint and checkpoint.hash != record.hash:
                    problem = Problem(record.seq, "differs from its signed checkpoint")
                if problem is not None:
                    break
                events, prev_hash = record.seq, record.hash
        if problem is None:
            problem = self._check_end(events, prev_hash, head, checkpoints)
        return Verification(chain, events, len(checkpoints), problem)

    async def verify_all(self) -> list[Verification]:
        return [await self.verify(chain) for chain in await self.chains()]

    async def recent(
        self,
        chain: str,
        *,
        limit: int = 100,
        before_seq: int | None = None,
        action_prefix: str | None = None,
        actor_id: str | None = None,
    ) -> list[dict[str, object]]:
        """A page of one chain's events, newest first, as JSON objects."""
        async with self._db.read() as conn:
            records = await AuditRepository(conn).recent(
                chain,
                limit=limit,
                before_seq=before_seq,
                action_prefix=action_prefix,
                actor_id=actor_id,
            )
        return [record.as_json() for record in records]

    async def export_recorded(
        self, chain: str, *, to_chain: str, actor: Actor
    ) -> AsyncIterator[dict[str, object]]:
        """`chain`'s events, for an export that is recorded in `to_chain` (T-88): the record
        is written before this returns, so before a single event leaves."""
        async with self._db.transaction() as conn:
            head = await AuditRepository(conn).head(chain)
            await self.record(conn, to_chain, AuditExported(chain, head[0] if head else 0), actor)
        return self.export(chain)

    async def export(self, chain: str) -> AsyncIterator[dict[str, object]]:
        async with self._db.read() as conn:
            async for record in AuditRepository(conn).stream(chain):
                yield record.as_json()

    def _check_end(
        self,
        events: int,
        last_hash: str,
        head: tuple[int, str] | None,
        checkpoints: list[Checkpoint],
    ) -> Problem | None:
        for checkpoint in checkpoints:
            if not self._signer.is_authentic(checkpoint):
                return Problem(checkpoint.seq, "its checkpoint's signature is not valid")
            if checkpoint.seq > events:
                return Problem(events + 1, "is missing: a signed checkpoint covers it")
        if head is not None and head != (events, last_hash):
            return Problem(events + 1, "is missing: the chain's head is further on")
        return None


def _check(record: AuditRecord, expected_seq: int, prev_hash: str) -> Problem | None:
    if record.seq != expected_seq:
        return Problem(expected_seq, "is missing (deleted or renumbered)")
    if record.prev_hash != prev_hash:
        return Problem(record.seq, "does not follow the event before it (reordered or replaced)")
    if rehash(record) != record.hash:
        return Problem(record.seq, "was edited: its content no longer matches its hash")
    return None
