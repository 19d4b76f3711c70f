"""The writer's transaction on a file SQLite database, on SQLite's own driver (see
`Database.write_directly`). Its statements are compiled once from the same tables as the
repository's, and bound with the same type processors, so both paths store identical rows."""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Dialect, bindparam, insert, update

from parlour.chat.models import ConversationStatus
from parlour.chat.repository import Key, in_arrival_order
from parlour.storage.tables import conversations, messages, webhook_deliveries


class DirectMessageBatch:
    """The writer's transaction (claim numbers, insert, change statuses) for a stdlib sqlite3
    connection, in one call on that connection's thread."""

    def __init__(self, dialect: Dialect) -> None:
        self._claim = _Direct(
            update(conversations)
            .where(
                conversations.c.conversation_id == bindparam("conversation_id"),
                conversations.c.tenant_id.concat("") == bindparam("tenant_id"),
            )
            .values(
                last_seq=conversations.c.last_seq + bindparam("count"),
                updated_at=bindparam("at", type_=conversations.c.updated_at.type),
            )
            .returning(conversations.c.last_seq, conversations.c.status),
            dialect,
        )
        self._insert = _Direct(insert(messages), dialect)
        self._insert_delivery = _Direct(insert(webhook_deliveries), dialect)
        self._set_status = _Direct(
            update(conversations)
            .where(
                conversations.c.tenant_id == bindparam("tenant_id"),
                conversations.c.conversation_id == bindparam("conversation_id"),
            )
            .values(status=bindparam("status", type_=conversations.c.status.type)),
            dialect,
        )

    def claim(self, key: Key, count: int, at: datetime) -> tuple[str, tuple[object, ...]]:
        """The statement that reserves `count` numbers in one conversation, with its parameters."""
        tenant_id, conversation_id = key
        values = {"conversation_id": conversation_id, "tenant_id": tenant_id, "count": count}
        return self._claim.sql, self._claim.bind({**values, "at": at})

    def write(
        self,
        rows: Sequence[dict[str, object]],
        status_changes: Sequence[tuple[Key, ConversationStatus]],
        deliveries: Sequence[dict[str, object]],
        at: datetime,
        conn: sqlite3.Connection,
    ) -> tuple[dict[Key, tuple[int, ConversationStatus]], list[int | None]]:
        """Claim numbers, insert the rows numbered in order (skipping those whose conversation
        is absent) and the webhook deliveries of those inserted, apply the status changes; the
        claims, and each row's number or None."""
        keys: list[Key] = [(str(r["tenant_id"]), str(r["conversation_id"])) for r in rows]
        claimed: dict[Key, tuple[int, ConversationStatus]] = {}
        # One primary-key update per conversation, in a fixed order, with no hop between them.
        for key, count in sorted(Counter(keys).items()):
            found = conn.execute(*self.claim(key, count, at)).fetchone()
            if found is not None:
                claimed[key] = (int(found[0]), ConversationStatus(found[1]))
        seqs = in_arrival_order(keys, claimed)
        conn.executemany(
            self._insert.sql,
            [
                self._insert.bind({**row, "seq": seq})
                for row, seq in zip(rows, seqs, strict=True)
                if seq is not None
            ],
        )
        if deliveries:
            stored = {
                row["message_id"] for row, seq in zip(rows, seqs, strict=True) if seq is not None
            }
            conn.executemany(
                self._insert_delivery.sql,
                [self._insert_delivery.bind(d) for d in deliveries if d["message_id"] in stored],
            )
        for (tenant_id, conversation_id), status in status_changes:
            if (tenant_id, conversation_id) in claimed:
                values = {
                    "tenant_id": tenant_id,
                    "conversation_id": conversation_id,
                    "status": status.value,
                }
                conn.execute(self._set_status.sql, self._set_status.bind(values))
        return claimed, seqs


class _Direct:
    """A statement compiled for a DB-API connection, with its parameters' type processors."""

    def __init__(self, statement: Any, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        binds = compiled.binds
        self._names: tuple[str, ...] = tuple(compiled.positiontup or ())
        # Values the statement carries itself (the "" of the claim's tenant test).
        self._fixed = {n: binds[n].value for n in self._names if not binds[n].required}
        self._processors: list[Callable[[Any], Any] | None] = [
            _processor(binds[name].type, dialect) for name in self._names
        ]

    def bind(self, values: Mapping[str, object]) -> tuple[object, ...]:
        if self._fixed:
            values = {**self._fixed, **values}
        return tuple(
            [
                values[name] if process is None else process(values[name])
                for name, process in zip(self._names, self._processors, strict=True)
            ]
        )


def _processor(type_: Any, dialect: Dialect) -> Callable[[Any], Any] | None:
    process: Callable[[Any], Any] | None = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None or type_.python_type is not datetime:
        return process
    # The rows of a batch share one timestamp: formatted once, not once a row. (Only for an
    # immutable type may the same object be taken to mean the same value.)
    last: list[Any] = [None, None]

    def remembering(value: Any) -> Any:
        if value is not last[0]:
            last[:] = [value, process(value)]
        return last[1]

    return remembering
