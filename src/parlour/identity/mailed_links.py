"""Mailed links: a one-time token for one purpose, of which only the digest is kept (T-41).
Holding the link proves the address it was mailed to."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.crypto.digest import sha256_hex
from parlour.identity.email_token_repository import EmailTokenRepository

# What a link is for; a token for one purpose opens nothing else.
VERIFY = "verify"  # confirm the address given at sign-up
RESET = "reset"  # choose a new password
WELCOME = "welcome"  # platform staff made from the server choose their first password


async def issue(conn: AsyncConnection, account_id: str, purpose: str, expires_at: datetime) -> str:
    """A new link token, inside the caller's transaction; its text goes into the mail only."""
    token = secrets.token_urlsafe(32)
    await EmailTokenRepository(conn).insert(sha256_hex(token), account_id, purpose, expires_at)
    return token


async def peek(conn: AsyncConnection, token: str, purpose: str, now: datetime) -> str | None:
    """The account an unused, unexpired token is for, without spending it."""
    return await EmailTokenRepository(conn).peek(sha256_hex(token), purpose, now)


async def spend(conn: AsyncConnection, token: str, purpose: str, now: datetime) -> str | None:
    """The account the token was for, if it is unused and unexpired; it is spent now."""
    return await EmailTokenRepository(conn).use(sha256_hex(token), purpose, now)
