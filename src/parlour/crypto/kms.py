"""The key-encryption service: wraps and unwraps data keys. `LocalKms` keeps the master key in
this process; a cloud KMS or Vault transit can implement the same three members."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Protocol

from parlour.crypto.aead import DecryptionFailed, open_sealed, seal
from parlour.crypto.derive import derive_key


class Kms(Protocol):
    @property
    def current_key_id(self) -> str: ...

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        """(id of the key that wrapped it, wrapped data key)."""
        ...

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes: ...


def master_key_id(master_key: bytes) -> str:
    """A public fingerprint of a master key, stored beside what it wrapped."""
    return "mk_" + hmac.new(master_key, b"parlour/master-key-id", hashlib.sha256).hexdigest()[:16]


class LocalKms:
    """Wraps with the current master key; unwraps with it or any previous one still configured,
    so a master-key rotation can re-wrap every data key while nodes keep running."""

    def __init__(self, master_key: bytes, previous: Iterable[bytes] = ()) -> None:
        self._wrapping_keys = {
            master_key_id(key): derive_key(key, "data-key-wrapping/v1")
            for key in (master_key, *previous)
        }
        self._current = master_key_id(master_key)

    @property
    def current_key_id(self) -> str:
        return self._current

    def wrap(self, data_key: bytes, aad: bytes) -> tuple[str, bytes]:
        return self._current, seal(self._wrapping_keys[self._current], data_key, aad)

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        wrapping_key = self._wrapping_keys.get(key_id)
        if wrapping_key is None:
            raise DecryptionFailed(f"data key was wrapped by master key {key_id}, not configured")
        return open_sealed(wrapping_key, wrapped, aad)
