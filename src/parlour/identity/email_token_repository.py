"""SQL for the tokens of mailed links (confirm an address, reset a password, choose a first
password), kept by digest, each for one purpose and spent once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.tables import email_tokens


class EmailTokenRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(
        self, token_hash: str, account_id: str, purpose: str, expires_at: datetime
    ) -> None:
        await self._conn.execute(
            insert(email_tokens).values(
                token_hash=token_hash, account_id=account_id, purpose=purpose, expires_at=expires_at
            )
        )

    async def peek(self, token_hash: str, purpose: str, now: datetime) -> str | None:
        """The account an unused, unexpired token is for, without spending it."""
        row = (
            await self._conn.execute(
                select(email_tokens.c.account_id).where(
                    email_tokens.c.token_hash == token_hash,
                    email_tokens.c.purpose == purpose,
                    email_tokens.c.used_at.is_(None),
                    email_tokens.c.expires_at > now,
                )
            )
        ).first()
        return str(row.account_id) if row else None

    async def use(self, token_hash: str, purpose: str, now: datetime) -> str | None:
        """The account the token was for, if it is unused and unexpired; it is spent now."""
        account_id = await self.peek(token_hash, purpose, now)
        if account_id is None:
            return None
        result = await self._conn.execute(
            update(email_tokens)
            .where(email_tokens.c.token_hash == token_hash, email_tokens.c.used_at.is_(None))
            .values(used_at=now)
        )
        return account_id if result.rowcount == 1 else None
