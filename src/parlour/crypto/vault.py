"""Per-tenant envelope encryption.

Each tenant has data keys (versions 1, 2, …) stored wrapped by the KMS. A field is sealed with
the tenant's newest data key, AES-256-GCM, and associated data naming its table, tenant, row and
field: a ciphertext copied to another tenant, row or column no longer opens (T-49). Old versions
stay readable until `reencrypt_tenant` has moved every row to the newest one (T-51). Deleting a
tenant's data keys makes all of its ciphertext unreadable (crypto-shredding, T-37).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncConnection

from parlour.crypto.aead import DecryptionFailed, associated_data
from parlour.crypto.derive import derive_key
from parlour.crypto.kms import Kms
from parlour.crypto.models import WrappedDataKey
from parlour.crypto.repository import DataKeyRepository
from parlour.errors import NotFound
from parlour.storage.database import Database
from parlour.storage.types import Clock, utcnow

T = TypeVar("T")
FORMAT = 0x02
_HEADER = 1 + 4 + 12  # format, key version, nonce


@dataclass(frozen=True, slots=True)
class Place:
    """Where a sealed value lives; part of what it is bound to."""

    table: str
    row_id: str
    field: str


class UnknownDataKey(DecryptionFailed):
    code = "unknown_data_key"


class TenantCipher:
    def __init__(
        self, tenant_id: str, keys: dict[int, AESGCM], *, index_key: bytes | None = None
    ) -> None:
        self.tenant_id = tenant_id
        self._keys = keys
        self.current_version = max(keys)
        self._index_key = index_key

    @property
    def index_key(self) -> bytes:
        """The key of the tenant's blind search index (parlour.search.terms): derived from its
        first data key, so it outlives rotations (the index's tags stay valid) and dies with the
        tenant's keys (crypto-shredding makes the tags unlinkable to any word)."""
        if self._index_key is None:
            raise UnknownDataKey("this cipher was made without the tenant's first data key")
        return self._index_key

    def seal(self, plaintext: bytes, place: Place) -> bytes:
        # 96-bit random nonces: far below the collision bound for what one key seals (T-50).
        nonce = os.urandom(12)
        header = bytes([FORMAT]) + self.current_version.to_bytes(4, "big") + nonce
        return header + self._keys[self.current_version].encrypt(nonce, plaintext, self._aad(place))

    def open(self, sealed: bytes, place: Place) -> bytes:
        version = self.version_of(sealed)
        key = self._keys.get(version)
        if key is None:
            raise UnknownDataKey("sealed with a data key this cipher does not have")
        try:
            return key.decrypt(sealed[5:_HEADER], sealed[_HEADER:], self._aad(place))
        except InvalidTag as exc:
            raise DecryptionFailed("ciphertext does not belong here") from exc

    def seal_text(self, text: str, place: Place) -> bytes:
        return self.seal(text.encode(), place)

    def open_text(self, sealed: bytes, place: Place) -> str:
        return self.open(sealed, place).decode()

    @staticmethod
    def version_of(sealed: bytes) -> int:
        if len(sealed) < _HEADER + 16 or sealed[0] != FORMAT:
            raise DecryptionFailed("unknown ciphertext format")
        return int.from_bytes(sealed[1:5], "big")

    def _aad(self, place: Place) -> bytes:
        return associated_data(place.table, self.tenant_id, place.row_id, place.field)


class Vault:
    """Tenants' data keys: created with the tenant, cached unwrapped for `cache_seconds`
    (counted on `monotonic`, which a change of the wall clock does not move)."""

    def __init__(
        self,
        db: Database,
        kms: Kms,
        *,
        cache_seconds: float = 60.0,
        clock: Clock = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._kms = kms
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, TenantCipher]] = {}

    @property
    def master_key_id(self) -> str:
        return self._kms.current_key_id

    async def create_tenant_key(self, conn: AsyncConnection, tenant_id: str) -> int:
        """A new data key version for the tenant, inside the caller's transaction."""
        repo = DataKeyRepository(conn)
        version = await repo.latest_version(tenant_id) + 1
        kek_id, wrapped = self._kms.wrap(secrets.token_bytes(32), _wrap_aad(tenant_id, version))
        await repo.insert(
            WrappedDataKey(
                tenant_id=tenant_id,
                version=version,
                kek_id=kek_id,
                wrapped_key=wrapped,
                created_at=self._clock(),
            )
        )
        self.forget(tenant_id)
        return version

    async def cipher(self, tenant_id: str) -> TenantCipher:
        cached = self._cache.get(tenant_id)
        if cached and cached[0] > self._monotonic():
            return cached[1]
        async with self._db.read() as conn:
            wrapped = await DataKeyRepository(conn).list(tenant_id)
        if not wrapped:
            raise NotFound("this organisation has no data keys")
        raw = {
            k.version: self._kms.unwrap(k.kek_id, k.wrapped_key, _wrap_aad(tenant_id, k.version))
            for k in wrapped
        }
        keys = {version: AESGCM(key) for version, key in raw.items()}
        index_key = derive_key(raw[min(raw)], "search-index/v1")
        cipher = TenantCipher(tenant_id, keys, index_key=index_key)
        self._cache[tenant_id] = (self._monotonic() + self._cache_seconds, cipher)
        return cipher

    async def using(self, tenant_id: str, work: Callable[[TenantCipher], Awaitable[T]]) -> T:
        """Run `work` with the tenant's cipher; if it meets a data key newer than the cache
        (another node rotated), reload the keys once and run it again."""
        try:
            return await work(await self.cipher(tenant_id))
        except UnknownDataKey:
            self.forget(tenant_id)
            return await work(await self.cipher(tenant_id))

    async def destroy_tenant_keys(self, conn: AsyncConnection, tenant_id: str) -> int:
        destroyed = await DataKeyRepository(conn).destroy_all(tenant_id)
        self.forget(tenant_id)
        return destroyed

    async def rewrap_all(self) -> int:
        """Re-wrap every data key not wrapped by the current master key; the data is untouched."""
        current = self._kms.current_key_id
        async with self._db.read() as conn:
            stale = [k async for k in DataKeyRepository(conn).stream_not_wrapped_by(current)]
        for key in stale:
            aad = _wrap_aad(key.tenant_id, key.version)
            data_key = self._kms.unwrap(key.kek_id, key.wrapped_key, aad)
            kek_id, wrapped = self._kms.wrap(data_key, aad)
            async with self._db.transaction() as conn:
                await DataKeyRepository(conn).rewrap(key.tenant_id, key.version, kek_id, wrapped)
        return len(stale)

    def forget(self, tenant_id: str) -> None:
        self._cache.pop(tenant_id, None)


def _wrap_aad(tenant_id: str, version: int) -> bytes:
    return associated_data("tenant_keys", tenant_id, str(version), "wrapped_key")
