"""Accounts themselves: the one rule for an e-mail address, making an account inside a use
case's transaction, finding one by address, the name customers see on its replies, and
disabling one."""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.audit.events import (
    PLATFORM_CHAIN,
    AccountCreated,
    AccountDisabled,
    Actor,
    ActorType,
    DisplayNameSet,
)
from parlour.audit.service import AuditLog
from parlour.crypto.vault import Vault
from parlour.errors import InvalidInput, NotFound
from parlour.identifiers import check_identifier
from parlour.identity.mail import InvalidAddress, header_address
from parlour.identity.models import Account
from parlour.identity.repository import AccountRepository
from parlour.identity.session_repository import SessionRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

_EMAIL = re.compile(r"[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]{1,255}")
MAX_DISPLAY_NAME = 80
# Letters, marks, numbers, spaces and a few signs names use: no markup, no controls, no
# bidirectional overrides that would make a name read as something else in the widget.
_NAME_SIGNS = frozenset(" .'-\u2019()&")


def normalise_email(email: str) -> str:
    email = check_identifier(email.strip(), "an e-mail address").lower()
    if len(email) > 320 or not _EMAIL.fullmatch(email):
        raise InvalidInput("Enter an e-mail address like name@example.com.")
    try:
        return header_address(email)  # we will mail it: no encoded word, no second address
    except InvalidAddress:
        raise InvalidInput("Enter an e-mail address like name@example.com.") from None


async def create_account(
    conn: AsyncConnection,
    vault: Vault,
    audit: AuditLog,
    email: str,
    password_hash: str,
    now: datetime,
    source_ip: str | None,
) -> Actor:
    """A new account, inside the caller's transaction; returns it as the actor of what follows."""
    account_id = str(uuid.uuid4())
    actor = Actor(ActorType.ACCOUNT, account_id, source_ip=source_ip)
    await AccountRepository(conn).insert(account_id, email, password_hash, now)
    # The account's own data key seals its TOTP seed, and dies with the account.
    await vault.create_tenant_key(conn, account_id)
    await audit.record(conn, PLATFORM_CHAIN, AccountCreated(account_id), actor)
    return actor


def normalise_display_name(name: str) -> str | None:
    """The name as customers will see it (NFC, spaces collapsed), None for a blank one; refused
    (InvalidInput) when too long or with characters a name does not need."""
    cleaned = " ".join(unicodedata.normalize("NFC", name).split())
    if not cleaned:
        return None
    if len(cleaned) > MAX_DISPLAY_NAME:
        raise InvalidInput(f"A display name may have at most {MAX_DISPLAY_NAME} characters.")
    for character in cleaned:
        category = unicodedata.category(character)
        if character not in _NAME_SIGNS and category[0] not in "LMN" and category != "Zs":
            raise InvalidInput("A display name may hold letters, digits, spaces and . ' - ( ) &")
    return cleaned


class Accounts:
    def __init__(self, db: Database, audit: AuditLog, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._audit = audit
        self._clock = clock

    async def by_email(self, email: str) -> Account | None:
        async with self._db.read() as conn:
            stored = await AccountRepository(conn).by_email(normalise_email(email))
        return stored.account if stored else None

    async def set_display_name(self, account_id: str, name: str, *, actor: Actor) -> str | None:
        """The name customers see on the account's replies from now on (replies already sent
        keep the name they were sent under); a blank one clears it. Audited."""
        cleaned = normalise_display_name(name)
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            if await repo.get(account_id) is None:
                raise NotFound("no such account")
            await repo.set_display_name(account_id, cleaned)
            event = DisplayNameSet(account_id, cleared=cleaned is None)
            await self._audit.record(conn, PLATFORM_CHAIN, event, actor)
        return cleaned

    async def disable(self, account_id: str, *, actor: Actor) -> None:
        """The account can no longer log in, and every session it has ends now (T-41)."""
        async with self._db.transaction() as conn:
            repo = AccountRepository(conn)
            if await repo.get(account_id) is None:
                raise NotFound("no such account")
            await repo.disable(account_id, self._clock())
            ended = await SessionRepository(conn).delete_of_account(account_id)
            await self._audit.record(
                conn, PLATFORM_CHAIN, AccountDisabled(account_id, ended), actor
            )
