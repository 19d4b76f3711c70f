"""Moving a tenant's sealed values to its newest data key, row by row (lazy DEK rotation)."""

from __future__ import annotations

from parlour.crypto.repository import SealedValueRepository
from parlour.crypto.vault import Place, TenantCipher, Vault
from parlour.storage.database import Database
from parlour.storage.tables import SEALED_COLUMNS


async def reencrypt_tenant(db: Database, vault: Vault, tenant_id: str) -> int:
    """Re-seal every value not sealed with the tenant's newest key; returns how many moved.
    Each row is swapped only if it still holds what was read, so concurrent writes win."""
    vault.forget(tenant_id)
    cipher = await vault.cipher(tenant_id)
    moved = 0
    for sealed_column in SEALED_COLUMNS:
        async with db.read(tenant_id) as conn:
            rows = await SealedValueRepository(conn).list(tenant_id, sealed_column)
        for row_id, sealed in rows:
            if TenantCipher.version_of(sealed) == cipher.current_version:
                continue
            place = Place(sealed_column.table.name, row_id, sealed_column.field)
            resealed = cipher.seal(cipher.open(sealed, place), place)
            async with db.transaction(tenant_id) as conn:
                moved += await SealedValueRepository(conn).swap(
                    tenant_id, sealed_column, row_id, sealed, resealed
                )
    return moved
