"""AES-256-GCM sealing with associated data, via `cryptography`.

Two envelopes use it, on purpose not one: this one (version byte, nonce, ciphertext) wraps data
keys under a master key, whose id is stored beside each wrapped key; the vault's
(`crypto.vault`: format byte, the data key's version, nonce, ciphertext) seals tenants' fields,
and must name the key version inside the ciphertext so that rows sealed before a rotation still
open. Making them one would mean a data migration of every sealed row for no gain in safety."""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from parlour.errors import ParlourError

NONCE_BYTES = 12
VERSION = b"\x01"


class DecryptionFailed(ParlourError):
    code = "decryption_failed"


def associated_data(*parts: str) -> bytes:
    """Where a value lives, e.g. ("signing_keys", tenant_id, kid, "private_key").

    Length-prefixed so that ("ab", "c") and ("a", "bc") bind differently.
    """
    encoded = [part.encode() for part in parts]
    return b"".join([len(e).to_bytes(4, "big") + e for e in encoded])


def seal(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    # Random 96-bit nonces: the birthday bound is far beyond what one key encrypts here.
    nonce = os.urandom(NONCE_BYTES)
    return VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def open_sealed(key: bytes, sealed: bytes, aad: bytes) -> bytes:
    if len(sealed) < 1 + NONCE_BYTES + 16 or sealed[:1] != VERSION:
        raise DecryptionFailed("unknown ciphertext format")
    nonce, body = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag as exc:
        raise DecryptionFailed("ciphertext does not open with this key and binding") from exc
