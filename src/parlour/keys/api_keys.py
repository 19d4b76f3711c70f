"""The API key format: `parlour_sk_<key id>_<secret>`.

The recognisable prefix lets secret scanners find leaked keys; the key id lets us find the row
without a search by secret; the secret carries 256 random bits, so a SHA-256 digest is enough to
store it (T-46) and no slow password hash is needed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

PREFIX = "parlour_sk_"
_FORMAT = re.compile(r"parlour_sk_(?P<key_id>[0-9a-f]{16})_(?P<secret>[A-Za-z0-9_-]{43})")


def new_key() -> tuple[str, str]:
    """(public key id, full secret) for a new API key."""
    key_id = secrets.token_hex(8)
    return key_id, f"{PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def parse_key_id(secret: str) -> str | None:
    match = _FORMAT.fullmatch(secret)
    return match["key_id"] if match else None


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)
