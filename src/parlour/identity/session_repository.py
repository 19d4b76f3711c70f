"""SQL for dashboard sessions, kept by the digest of their reference (the cookie's value)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.identity.models import Stage
from parlour.storage.tables import account_sessions


@dataclass(frozen=True, slots=True)
class StoredSession:
    token_hash: str
    account_id: str
    stage: Stage
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    authenticated_at: datetime


class SessionRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, session: StoredSession, source_ip: str | None) -> None:
        await self._conn.execute(
            insert(account_sessions).values(
                token_hash=session.token_hash,
                account_id=session.account_id,
                stage=session.stage.value,
                csrf_token=session.csrf_token,
                created_at=session.created_at,
                last_seen_at=session.last_seen_at,
                authenticated_at=session.authenticated_at,
                source_ip=source_ip,
            )
        )

    async def get(self, token_hash: str) -> StoredSession | None:
        row = (
            await self._conn.execute(
                select(account_sessions).where(account_sessions.c.token_hash == token_hash)
            )
        ).first()
        if row is None:
            return None
        return StoredSession(
            row.token_hash,
            row.account_id,
            Stage(row.stage),
            row.csrf_token,
            row.created_at,
            row.last_seen_at,
            row.authenticated_at,
        )

    async def touch(self, token_hash: str, now: datetime) -> None:
        await self._conn.execute(
            update(account_sessions)
            .where(account_sessions.c.token_hash == token_hash)
            .values(last_seen_at=now)
        )

    async def delete(self, token_hash: str) -> bool:
        result = await self._conn.execute(
            delete(account_sessions).where(account_sessions.c.token_hash == token_hash)
        )
        return result.rowcount == 1

    async def delete_of_account(self, account_id: str, *, keep: str | None = None) -> int:
        query = delete(account_sessions).where(account_sessions.c.account_id == account_id)
        if keep is not None:
            query = query.where(account_sessions.c.token_hash != keep)
        return (await self._conn.execute(query)).rowcount
