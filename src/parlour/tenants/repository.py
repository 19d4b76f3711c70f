"""SQL for tenants and their origins. Methods take `tenant_id` first; the one exception resolves a
tenant from its public widget id, which is how an anonymous handshake finds its tenant."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.storage.tables import origin_claims, tenant_apps, tenant_origins, tenants
from parlour.tenants.domain_proof import OriginClaim
from parlour.tenants.models import Tenant, Verification


class TenantRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, tenant: Tenant) -> None:
        await self._conn.execute(
            insert(tenants).values(
                tenant_id=tenant.tenant_id,
                name=tenant.name,
                widget_id=tenant.widget_id,
                created_at=tenant.created_at,
                anonymous_visitors=tenant.anonymous_visitors,
                verification=tenant.verification.value,
                verification_reason=tenant.verification_reason,
            )
        )

    async def get(self, tenant_id: str) -> Tenant | None:
        row = (
            await self._conn.execute(select(tenants).where(tenants.c.tenant_id == tenant_id))
        ).first()
        return _tenant(row) if row else None

    async def find_by_widget_id(self, widget_id: str) -> Tenant | None:
        row = (
            await self._conn.execute(select(tenants).where(tenants.c.widget_id == widget_id))
        ).first()
        return _tenant(row) if row else None

    async def set_verification(
        self, tenant_id: str, verification: Verification, reason: str | None
    ) -> bool:
        result = await self._conn.execute(
            update(tenants)
            .where(tenants.c.tenant_id == tenant_id)
            .values(verification=verification.value, verification_reason=reason)
        )
        return result.rowcount == 1

    async def list_by_verification(self, verification: Verification, limit: int) -> list[Tenant]:
        rows = await self._conn.execute(
            select(tenants)
            .where(tenants.c.verification == verification.value)
            .order_by(tenants.c.created_at)
            .limit(limit)
        )
        return [_tenant(row) for row in rows]

    async def list_all(self, limit: int) -> list[Tenant]:
        rows = await self._conn.execute(
            select(tenants).order_by(tenants.c.created_at, tenants.c.tenant_id).limit(limit)
        )
        return [_tenant(row) for row in rows]

    async def verification(self, tenant_id: str) -> Verification | None:
        value = (
            await self._conn.execute(
                select(tenants.c.verification).where(tenants.c.tenant_id == tenant_id)
            )
        ).scalar()
        return Verification(value) if value else None

    async def set_anonymous_visitors(self, tenant_id: str, allowed: bool) -> None:
        await self._conn.execute(
            update(tenants)
            .where(tenants.c.tenant_id == tenant_id)
            .values(anonymous_visitors=allowed)
        )

    async def set_talk_to_a_person(self, tenant_id: str, allowed: bool) -> None:
        await self._conn.execute(
            update(tenants).where(tenants.c.tenant_id == tenant_id).values(talk_to_a_person=allowed)
        )

    async def set_time_zone(self, tenant_id: str, name: str) -> None:
        await self._conn.execute(
            update(tenants).where(tenants.c.tenant_id == tenant_id).values(time_zone=name)
        )

    async def add_app(self, tenant_id: str, app_id: str, created_at: datetime) -> bool:
        if await self.has_app(tenant_id, app_id):
            return False
        await self._conn.execute(
            insert(tenant_apps).values(tenant_id=tenant_id, app_id=app_id, created_at=created_at)
        )
        return True

    async def has_app(self, tenant_id: str, app_id: str | None = None) -> bool:
        """Whether the tenant allowlisted `app_id` (or, without one, any app at all)."""
        query = select(tenant_apps.c.app_id).where(tenant_apps.c.tenant_id == tenant_id)
        if app_id is not None:
            query = query.where(tenant_apps.c.app_id == app_id)
        return (await self._conn.execute(query.limit(1))).first() is not None

    async def list_apps(self, tenant_id: str) -> list[str]:
        rows = await self._conn.execute(
            select(tenant_apps.c.app_id)
            .where(tenant_apps.c.tenant_id == tenant_id)
            .order_by(tenant_apps.c.app_id)
        )
        return list(rows.scalars())

    async def remove_app(self, tenant_id: str, app_id: str) -> bool:
        result = await self._conn.execute(
            delete(tenant_apps).where(
                tenant_apps.c.tenant_id == tenant_id, tenant_apps.c.app_id == app_id
            )
        )
        return result.rowcount == 1

    async def delete(self, tenant_id: str) -> None:
        # Every tenant-owned table references tenants with ON DELETE CASCADE.
        await self._conn.execute(delete(tenants).where(tenants.c.tenant_id == tenant_id))

    async def add_origin(self, tenant_id: str, origin: str, created_at: datetime) -> bool:
        if await self.has_origin(tenant_id, origin):
            return False
        await self._conn.execute(
            insert(tenant_origins).values(tenant_id=tenant_id, origin=origin, created_at=created_at)
        )
        return True

    async def has_origin(self, tenant_id: str, origin: str) -> bool:
        row = (
            await self._conn.execute(
                select(tenant_origins.c.origin).where(
                    tenant_origins.c.tenant_id == tenant_id, tenant_origins.c.origin == origin
                )
            )
        ).first()
        return row is not None

    async def remove_origin(self, tenant_id: str, origin: str) -> bool:
        result = await self._conn.execute(
            delete(tenant_origins).where(
                tenant_origins.c.tenant_id == tenant_id, tenant_origins.c.origin == origin
            )
        )
        return result.rowcount == 1

    async def add_claim(self, tenant_id: str, claim: OriginClaim) -> None:
        await self._conn.execute(
            insert(origin_claims).values(
                tenant_id=tenant_id,
                origin=claim.origin,
                token=claim.token,
                created_at=claim.created_at,
            )
        )

    async def claim(self, tenant_id: str, origin: str) -> OriginClaim | None:
        row = (
            await self._conn.execute(
                select(origin_claims).where(
                    origin_claims.c.tenant_id == tenant_id, origin_claims.c.origin == origin
                )
            )
        ).first()
        return _claim(row) if row else None

    async def list_claims(self, tenant_id: str) -> list[OriginClaim]:
        rows = await self._conn.execute(
            select(origin_claims)
            .where(origin_claims.c.tenant_id == tenant_id)
            .order_by(origin_claims.c.origin)
        )
        return [_claim(row) for row in rows]

    async def mark_claim_checked(self, tenant_id: str, origin: str, when: datetime) -> None:
        await self._conn.execute(
            update(origin_claims)
            .where(origin_claims.c.tenant_id == tenant_id, origin_claims.c.origin == origin)
            .values(checked_at=when)
        )

    async def remove_claim(self, tenant_id: str, origin: str) -> bool:
        result = await self._conn.execute(
            delete(origin_claims).where(
                origin_claims.c.tenant_id == tenant_id, origin_claims.c.origin == origin
            )
        )
        return result.rowcount == 1

    async def list_origins(self, tenant_id: str) -> list[str]:
        rows = await self._conn.execute(
            select(tenant_origins.c.origin)
            .where(tenant_origins.c.tenant_id == tenant_id)
            .order_by(tenant_origins.c.origin)
        )
        return list(rows.scalars())


def _tenant(row: Row[tuple[object, ...]]) -> Tenant:
    m = row._mapping
    return Tenant(
        tenant_id=m["tenant_id"],
        name=m["name"],
        widget_id=m["widget_id"],
        created_at=m["created_at"],
        anonymous_visitors=m["anonymous_visitors"],
        verification=Verification(m["verification"]),
        verification_reason=m["verification_reason"],
        time_zone=m["time_zone"],
        talk_to_a_person=m["talk_to_a_person"],
    )


def _claim(row: Row[tuple[object, ...]]) -> OriginClaim:
    m = row._mapping
    return OriginClaim(
        origin=m["origin"], token=m["token"], created_at=m["created_at"], checked_at=m["checked_at"]
    )
