"""SQL of the blind index: what the indexer reads and writes, and the searches. Every method
takes `tenant_id` first and filters on it (and PostgreSQL's row-level security holds the tables
to the transaction's tenant, 0028)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Dialect, Select, Table, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.chat.models import ConversationStatus, MessageKind
from parlour.storage.dialect import upsert
from parlour.storage.tables import (
    conversations,
    messages,
    search_documents,
    search_terms,
    search_watermarks,
    tenants,
)

c = conversations.c
m = messages.c
t = search_terms.c


@dataclass(frozen=True, slots=True)
class Unindexed:
    message_id: str
    conversation_id: str
    kind: MessageKind
    body_sealed: bytes


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search narrows to besides its words; None: any."""

    end_user_id: str | None = None
    status: ConversationStatus | None = None
    assignee: str | None = None
    since: datetime | None = None  # active at or after: its latest message
    until: datetime | None = None  # active at or before: its start

    def conditions(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.end_user_id is not None:
            where.append(c.end_user_id == self.end_user_id)
        if self.status is not None:
            where.append(c.status == self.status.value)
        if self.assignee is not None:
            where.append(c.assignee == self.assignee)
        if self.since is not None:
            where.append(c.updated_at >= self.since)
        if self.until is not None:
            where.append(c.created_at <= self.until)
        return where


# The postings a search reads at a time, newest first: few for a common word, more as the
# filters turn out to admit few.
# Counting a term's postings stops here: past it, which term is rarer hardly matters.
COUNTED_POSTINGS = 100_000
PAGES = (200, 1_000, 5_000, *([20_000] * 50))


class IndexRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def tenant_ids(self) -> list[str]:
        """Every organisation (the tenants table is the directory, outside row security)."""
        return list((await self._conn.execute(select(tenants.c.tenant_id))).scalars())

    async def watermark(self, tenant_id: str) -> str | None:
        w = search_watermarks.c
        result = await self._conn.execute(select(w.message_id).where(w.tenant_id == tenant_id))
        return result.scalar_one_or_none()

    async def ids_after(self, tenant_id: str, after: str, limit: int) -> list[str]:
        """The tenant's next `limit` message ids above `after`, in order (the unique index on
        message ids, read in order)."""
        rows = await self._conn.execute(
            select(m.message_id)
            .where(m.tenant_id == tenant_id, m.message_id > after)
            .order_by(m.message_id)
            .limit(limit)
        )
        return [str(r[0]) for r in rows]

    async def unindexed(self, tenant_id: str, message_ids: Sequence[str]) -> list[Unindexed]:
        """Those of `message_ids` the index does not hold yet, oldest first. Two lookups by key
        rather than one anti-join: a join's plan hangs on the tables' statistics, which a
        fresh index has none of (PostgreSQL then scanned the index once per message)."""
        d = search_documents.c
        held = set(
            (
                await self._conn.execute(
                    select(d.message_id).where(
                        d.tenant_id == tenant_id, d.message_id.in_(message_ids)
                    )
                )
            ).scalars()
        )
        wanted = [i for i in message_ids if i not in held]
        if not wanted:
            return []
        rows = await self._conn.execute(
            select(m.message_id, m.conversation_id, m.kind, m.body_sealed)
            .where(m.tenant_id == tenant_id, m.message_id.in_(wanted))
            .order_by(m.message_id)
        )
        return [Unindexed(str(r[0]), str(r[1]), MessageKind(r[2]), bytes(r[3])) for r in rows]

    async def add(
        self,
        tenant_id: str,
        documents: Sequence[str],
        terms: Sequence[tuple[bytes, str, str]],
        watermark: str,
        at: datetime,
    ) -> None:
        """Index these messages (their ids) with their terms (tag, message id, conversation
        id), and move the tenant's watermark up to `watermark`. Another node's indexer that did
        the same messages first leaves nothing to add (ON CONFLICT DO NOTHING)."""
        if documents:
            await self._conn.execute(
                self._insert_new(search_documents),
                [{"tenant_id": tenant_id, "message_id": d} for d in documents],
            )
        if terms:
            await self._conn.execute(
                self._insert_new(search_terms),
                [
                    {"tenant_id": tenant_id, "tag": tag, "message_id": mid, "conversation_id": cid}
                    for tag, mid, cid in terms
                ],
            )
        w = search_watermarks.c
        await self._conn.execute(
            upsert(
                self._conn,
                search_watermarks,
                {"tenant_id": tenant_id, "message_id": watermark, "updated_at": at},
                ["tenant_id"],
                ["message_id", "updated_at"],
                where=w.message_id < watermark,
            )
        )

    def _insert_new(self, table: Table) -> Any:
        """INSERT … ON CONFLICT DO NOTHING, for many rows."""
        insert = postgresql.insert if self._conn.dialect.name == "postgresql" else sqlite.insert
        return insert(table).on_conflict_do_nothing()


class DirectIndexWrite:
    """The same write as `IndexRepository.add`, for SQLite's own driver (`Database.
    write_directly`): one call, no hop to aiosqlite's thread per statement, no SQLAlchemy
    parameter processing per row, so SQLite's one writer is held a millisecond or two rather
    than tens (bench/gateway's flood with the indexer running halved before it)."""

    _DOCUMENT = (
        "INSERT INTO search_documents (tenant_id, message_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
    )
    _TERM = (
        "INSERT INTO search_terms (tenant_id, tag, message_id, conversation_id) "
        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING"
    )
    _WATERMARK = (
        "INSERT INTO search_watermarks (tenant_id, message_id, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (tenant_id) DO UPDATE SET message_id = excluded.message_id, "
        "updated_at = excluded.updated_at "
        "WHERE search_watermarks.message_id < excluded.message_id"
    )

    def __init__(self, dialect: Dialect) -> None:
        column_type = search_watermarks.c.updated_at.type
        self._moment: Callable[[Any], Any] = column_type.dialect_impl(dialect).bind_processor(
            dialect
        ) or (lambda value: value)

    def write(
        self,
        tenant_id: str,
        documents: Sequence[str],
        terms: Sequence[tuple[bytes, str, str]],
        watermark: str,
        at: datetime,
        conn: sqlite3.Connection,
    ) -> None:
        conn.executemany(self._DOCUMENT, [(tenant_id, d) for d in documents])
        conn.executemany(self._TERM, [(tenant_id, tag, mid, cid) for tag, mid, cid in terms])
        conn.execute(self._WATERMARK, (tenant_id, watermark, self._moment(at)))


class SearchRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def postings(self, tenant_id: str, tag: bytes) -> int:
        """How many messages hold the term, counted up to `COUNTED_POSTINGS` (beyond it, a
        term is common enough): the rarest term leads a search."""
        held = select(t.message_id).where(t.tenant_id == tenant_id, t.tag == tag)
        result = await self._conn.execute(
            select(func.count()).select_from(held.limit(COUNTED_POSTINGS).subquery())
        )
        return int(result.scalar_one())

    async def matching(
        self, tenant_id: str, tags: Sequence[bytes], filters: Filters, limit: int
    ) -> list[tuple[str, str]]:
        """(conversation id, its newest message holding every tag), newest first. `tags`
        rarest first: the first one's postings are read newest first, in pages that grow, and
        the others probed by key, until `limit` conversations are found or the postings end;
        so a common word costs what its first page does, not what all its postings would."""
        found: dict[str, str] = {}
        before: str | None = None
        for page in PAGES:
            statement = matching_statement(tenant_id, tags, filters, page, before)
            rows = [(str(r[0]), str(r[1])) for r in await self._conn.execute(statement)]
            for conversation_id, message_id in rows:
                found.setdefault(conversation_id, message_id)
                if len(found) == limit:
                    return list(found.items())
            if len(rows) < page:
                break
            before = rows[-1][1]
        return list(found.items())

    async def conversation_ids(self, tenant_id: str, filters: Filters, limit: int) -> list[str]:
        """Conversations by the filters alone, the latest active first."""
        rows = await self._conn.execute(
            select(c.conversation_id)
            .where(c.tenant_id == tenant_id, *filters.conditions())
            .order_by(c.updated_at.desc(), c.conversation_id.desc())
            .limit(limit)
        )
        return [str(r[0]) for r in rows]


def matching_statement(
    tenant_id: str, tags: Sequence[bytes], filters: Filters, limit: int, before: str | None
) -> Select[Any]:
    """The messages holding every tag (conversation id, message id), newest first, below
    `before` if given, that the filters admit."""
    lead = search_terms.alias("t0")
    joined = lead.join(
        conversations,
        and_(c.tenant_id == tenant_id, c.conversation_id == lead.c.conversation_id),
    )
    for n, other in enumerate(tags[1:], start=1):
        alias = search_terms.alias(f"t{n}")
        joined = joined.join(
            alias,
            and_(
                alias.c.tenant_id == tenant_id,
                alias.c.tag == other,
                alias.c.message_id == lead.c.message_id,
            ),
        )
    where = [lead.c.tenant_id == tenant_id, lead.c.tag == tags[0], *filters.conditions()]
    if before is not None:
        where.append(lead.c.message_id < before)
    if filters.since is not None or filters.until is not None:
        joined = joined.join(messages, m.message_id == lead.c.message_id)
        if filters.since is not None:
            where.append(m.created_at >= filters.since)
        if filters.until is not None:
            where.append(m.created_at <= filters.until)
    return (
        select(lead.c.conversation_id, lead.c.message_id)
        .select_from(joined)
        .where(*where)
        .order_by(lead.c.message_id.desc())
        .limit(limit)
    )
