"""SQL for tenants' wrapped data keys; every method takes `tenant_id` first, except the sweep
that master-key rotation makes over all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import Row, delete, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.crypto.models import WrappedDataKey
from parlour.storage.tables import SealedColumn, tenant_keys


class DataKeyRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def insert(self, key: WrappedDataKey) -> None:
        await self._conn.execute(
            insert(tenant_keys).values(
                tenant_id=key.tenant_id,
                version=key.version,
                kek_id=key.kek_id,
                wrapped_key=key.wrapped_key,
                created_at=key.created_at,
            )
        )

    async def list(self, tenant_id: str) -> list[WrappedDataKey]:
        rows = await self._conn.execute(
            select(tenant_keys)
            .where(tenant_keys.c.tenant_id == tenant_id)
            .order_by(tenant_keys.c.version)
        )
        return [_key(row) for row in rows]

    async def latest_version(self, tenant_id: str) -> int:
        result = await self._conn.execute(
            select(func.max(tenant_keys.c.version)).where(tenant_keys.c.tenant_id == tenant_id)
        )
        return int(result.scalar_one() or 0)

    async def rewrap(self, tenant_id: str, version: int, kek_id: str, wrapped_key: bytes) -> None:
        await self._conn.execute(
            update(tenant_keys)
            .where(tenant_keys.c.tenant_id == tenant_id, tenant_keys.c.version == version)
            .values(kek_id=kek_id, wrapped_key=wrapped_key)
        )

    async def destroy_all(self, tenant_id: str) -> int:
        result = await self._conn.execute(
            delete(tenant_keys).where(tenant_keys.c.tenant_id == tenant_id)
        )
        return result.rowcount

    async def stream_not_wrapped_by(self, kek_id: str) -> AsyncIterator[WrappedDataKey]:
        result = await self._conn.stream(
            select(tenant_keys)
            .where(tenant_keys.c.kek_id != kek_id)
            .order_by(tenant_keys.c.tenant_id, tenant_keys.c.version)
        )
        async for row in result:
            yield _key(row)


def _key(row: Row[tuple[object, ...]]) -> WrappedDataKey:
    m = row._mapping
    return WrappedDataKey(
        tenant_id=m["tenant_id"],
        version=m["version"],
        kek_id=m["kek_id"],
        wrapped_key=bytes(m["wrapped_key"]),
        created_at=m["created_at"],
    )


class SealedValueRepository:
    """Reads and swaps sealed values in any column of SEALED_COLUMNS, for re-encryption."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def list(self, tenant_id: str, where: SealedColumn) -> list[tuple[str, bytes]]:
        table = where.table
        rows = await self._conn.execute(
            select(table.c[where.row_id], table.c[where.column]).where(
                table.c.tenant_id == tenant_id, table.c[where.column].is_not(None)
            )
        )
        return [(str(row[0]), bytes(row[1])) for row in rows]

    async def swap(
        self, tenant_id: str, where: SealedColumn, row_id: str, old: bytes, new: bytes
    ) -> int:
        table = where.table
        result = await self._conn.execute(
            update(table)
            .where(
                table.c.tenant_id == tenant_id,
                table.c[where.row_id] == row_id,
                table.c[where.column] == old,
            )
            .values({where.column: new})
        )
        return result.rowcount
