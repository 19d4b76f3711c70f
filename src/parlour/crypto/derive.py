"""One key, one purpose: purpose keys are derived from the master key with HKDF-SHA256."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_key(master_key: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=f"parlour/{purpose}".encode()
    ).derive(master_key)
