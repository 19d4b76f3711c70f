"""SQL for accounts: the row of each (e-mail, password hash, sealed TOTP seeds, platform role)
and its one-time recovery codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.identity.models import Account, PlatformRole
from parlour.storage.tables import accounts, recovery_codes


@dataclass(frozen=True, slots=True)
class StoredAccount:
    account: Account
    password_hash: str
    totp_seed_sealed: bytes | None
    totp_pending_sealed: bytes | None
    totp_last_step: int | None


class AccountRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, account_id: str, email: str, password_hash: str, now: datetime) -> None:
        await self._conn.execute(
            insert(accounts).values(
                account_id=account_id, email=email, password_hash=password_hash, created_at=now
            )
        )

    async def by_email(self, email: str) -> StoredAccount | None:
        row = (await self._conn.execute(select(accounts).where(accounts.c.email == email))).first()
        return _stored(row) if row else None

    async def get(self, account_id: str) -> StoredAccount | None:
        row = (
            await self._conn.execute(select(accounts).where(accounts.c.account_id == account_id))
        ).first()
        return _stored(row) if row else None

    async def set_password_hash(self, account_id: str, password_hash: str) -> None:
        await self._update(account_id, password_hash=password_hash)

    async def mark_email_verified(self, account_id: str, now: datetime) -> None:
        await self._update(account_id, email_verified_at=now)

    async def set_pending_seed(self, account_id: str, sealed: bytes) -> None:
        await self._update(account_id, totp_pending_sealed=sealed)

    async def enable_mfa(self, account_id: str, sealed_seed: bytes, step: int) -> None:
        await self._update(
            account_id, totp_seed_sealed=sealed_seed, totp_pending_sealed=None, totp_last_step=step
        )

    async def claim_step(self, account_id: str, step: int) -> bool:
        """Record `step` as used, if no code of it or a later step was used before; the
        condition in the UPDATE makes two racing logins with one code succeed once."""
        result = await self._conn.execute(
            update(accounts)
            .where(
                accounts.c.account_id == account_id,
                or_(accounts.c.totp_last_step.is_(None), accounts.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        return result.rowcount == 1

    async def set_platform_role(self, account_id: str, role: PlatformRole | None) -> None:
        await self._update(account_id, platform_role=role.value if role else None)

    async def count_platform_staff(self, roles: list[PlatformRole]) -> int:
        """Accounts, not disabled, that hold one of `roles`."""
        count = await self._conn.scalar(
            select(func.count()).where(
                accounts.c.platform_role.in_([r.value for r in roles]),
                accounts.c.disabled_at.is_(None),
            )
        )
        return int(count or 0)

    async def set_display_name(self, account_id: str, name: str | None) -> None:
        await self._update(account_id, display_name=name)

    async def display_name(self, account_id: str) -> str | None:
        name = await self._conn.scalar(
            select(accounts.c.display_name).where(accounts.c.account_id == account_id)
        )
        return str(name) if name else None

    async def disable(self, account_id: str, now: datetime) -> None:
        await self._update(account_id, disabled_at=now)

    async def _update(self, account_id: str, **values: object) -> None:
        await self._conn.execute(
            update(accounts).where(accounts.c.account_id == account_id).values(**values)
        )

    # Recovery codes

    async def replace_recovery_codes(self, account_id: str, hashes: list[str]) -> None:
        await self._conn.execute(
            delete(recovery_codes).where(recovery_codes.c.account_id == account_id)
        )
        await self._conn.execute(
            insert(recovery_codes),
            [{"account_id": account_id, "code_hash": h} for h in hashes],
        )

    async def use_recovery_code(self, account_id: str, code_hash: str, now: datetime) -> bool:
        result = await self._conn.execute(
            update(recovery_codes)
            .where(
                recovery_codes.c.account_id == account_id,
                recovery_codes.c.code_hash == code_hash,
                recovery_codes.c.used_at.is_(None),
            )
            .values(used_at=now)
        )
        return result.rowcount == 1


def _stored(row: Row[tuple[object, ...]]) -> StoredAccount:
    m = row._mapping
    account = Account(
        account_id=m["account_id"],
        email=m["email"],
        email_verified=m["email_verified_at"] is not None,
        mfa_enabled=m["totp_seed_sealed"] is not None,
        platform_role=PlatformRole(m["platform_role"]) if m["platform_role"] else None,
        disabled=m["disabled_at"] is not None,
        created_at=m["created_at"],
        display_name=m["display_name"],
    )
    return StoredAccount(
        account,
        m["password_hash"],
        m["totp_seed_sealed"],
        m["totp_pending_sealed"],
        m["totp_last_step"],
    )
