"""Checking the second factor: a code from the account's authenticator or one of its unused
recovery codes. A TOTP step is claimed once, so a code seen by someone else is spent, and every
attempt counts against the account's limit (T-38)."""

from __future__ import annotations

from parlour.crypto.vault import Place, Vault
from parlour.identity import totp
from parlour.identity.errors import InvalidCode, TooManyAttempts
from parlour.identity.repository import AccountRepository, StoredAccount
from parlour.observability import security_event
from parlour.rate_limits import RateLimits
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow


class SecondFactor:
    def __init__(
        self, db: Database, vault: Vault, limits: RateLimits, *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self._vault = vault
        self._limits = limits
        # TOTP steps and the time a recovery code was used read this clock.
        self._clock = clock

    async def check(self, stored: StoredAccount, code: str, source_ip: str | None) -> None:
        """Accept `code` for the account once, or raise `InvalidCode` (or `TooManyAttempts`)."""
        account_id = stored.account.account_id
        if not await self._limits.allow("codes", account_id):
            security_event("mfa.throttled", account_id=account_id, ip=source_ip)
            raise TooManyAttempts()
        if stored.totp_seed_sealed is None:
            raise InvalidCode()
        if totp.looks_like_recovery_code(code):
            async with self._db.transaction() as conn:
                used = await AccountRepository(conn).use_recovery_code(
                    account_id, totp.recovery_code_hash(code), self._clock()
                )
            if used:
                security_event("mfa.recovery_code_used", account_id=account_id, ip=source_ip)
                return
        else:
            cipher = await self._vault.cipher(account_id)
            seed = cipher.open_text(
                stored.totp_seed_sealed, Place("accounts", account_id, "totp_seed")
            )
            step = totp.accepted_step(seed, code, self._clock(), after=stored.totp_last_step)
            if step is not None:
                async with self._db.transaction() as conn:
                    if await AccountRepository(conn).claim_step(account_id, step):
                        return
        security_event("mfa.failed", account_id=account_id, ip=source_ip)
        raise InvalidCode()
