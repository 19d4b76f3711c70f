"""The one SHA-256 hex digest Parlour keeps in place of a value it must find again but never
show: API key secrets (T-46), session references (T-41), mailed links and invitations, recovery
codes (T-38), and used token ids (whose length is the issuer's choice; the digest keeps rows one
size).

A plain digest is enough because the secrets are random and long (256 bits; a recovery code
78): no search finds one from its digest, so no slow password hash is needed. Passwords never
come here (Argon2id, identity/passwords.py).
"""

from __future__ import annotations

import hashlib


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
