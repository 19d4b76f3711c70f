"""The hash chain: each row's hash covers its content and the previous row's hash, so an edited,
deleted or reordered row breaks every hash after it (T-91)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from datetime import datetime

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditRecord:
    chain: str
    seq: int
    event_id: str
    occurred_at: datetime
    action: str
    actor_type: str
    actor_id: str
    source_ip: str | None
    request_id: str | None
    data: str  # canonical JSON, stored as text so every database returns the same bytes
    prev_hash: str
    hash: str

    def as_json(self) -> dict[str, object]:
        return {
            "chain": self.chain,
            "seq": self.seq,
            "event_id": self.event_id,
            "occurred_at": timestamp(self.occurred_at),
            "action": self.action,
            "actor": {"type": self.actor_type, "id": self.actor_id},
            "source_ip": self.source_ip,
            "request_id": self.request_id,
            "data": json.loads(self.data),
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def timestamp(moment: datetime) -> str:
    # Microseconds, UTC: what both SQLite and PostgreSQL give back unchanged.
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


def record_hash(
    *,
    chain: str,
    seq: int,
    event_id: str,
    occurred_at: datetime,
    action: str,
    actor_type: str,
    actor_id: str,
    source_ip: str | None,
    request_id: str | None,
    data: str,
    prev_hash: str,
) -> str:
    content = canonical_json(
        [
            chain,
            seq,
            event_id,
            timestamp(occurred_at),
            action,
            actor_type,
            actor_id,
            source_ip,
            request_id,
            data,
            prev_hash,
        ]
    )
    return hashlib.sha256(content.encode()).hexdigest()


def rehash(record: AuditRecord) -> str:
    """What `record`'s hash should be, from its content and its link to the previous record."""
    content = {f.name: getattr(record, f.name) for f in fields(record) if f.name != "hash"}
    return record_hash(**content)
