"""Revoking an end user: every token issued to them until now stops working, on open sockets
too (T-22). A revocation is a moment per end user; it covers the tokens issued before it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from parlour.identifiers import check_identifier
from parlour.keys.models import EndUser
from parlour.keys.repository import RevocationRepository
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow


class EndUserRevocations:
    def __init__(self, db: Database, *, clock: Clock = utcnow) -> None:
        self._db = db
        self._clock = clock

    async def revoke(self, tenant_id: str, user_id: str) -> None:
        """Every token issued to this end user until now stops working, on open sockets too."""
        check_identifier(user_id, "a user id")
        async with self._db.transaction() as conn:
            await RevocationRepository(conn).revoke_before(tenant_id, user_id, self._clock())

    async def revoked(self, users: Sequence[EndUser]) -> list[bool]:
        """For each identity, whether a revocation covers the token it was proven with: one
        query per organisation, however many identities."""
        by_tenant: dict[str, set[str]] = {}
        for user in users:
            by_tenant.setdefault(user.tenant_id, set()).add(user.user_id)
        found: dict[tuple[str, str], datetime] = {}
        async with self._db.read() as conn:
            repository = RevocationRepository(conn)
            for tenant_id, user_ids in by_tenant.items():
                before = await repository.revoked_before_many(tenant_id, sorted(user_ids))
                found.update(((tenant_id, user_id), at) for user_id, at in before.items())
        return [_revoked_by(user, found.get((user.tenant_id, user.user_id))) for user in users]


def _revoked_by(user: EndUser, revoked_before: datetime | None) -> bool:
    """A revocation covers the tokens issued before it."""
    return bool(revoked_before and user.issued_at and user.issued_at < revoked_before)
