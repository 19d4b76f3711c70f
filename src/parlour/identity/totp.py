"""Time-based one-time codes (RFC 6238, pyotp) and one-time recovery codes. A TOTP code is
accepted only in its own 30-second step and only once: the step of the last accepted code is
kept, and a code from that step or an earlier one is refused (T-38)."""

from __future__ import annotations

import secrets
from datetime import datetime

import pyotp

from parlour.crypto.digest import sha256_hex

RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread


def new_seed() -> str:
    """A 160-bit seed from the operating system's CSPRNG, base32 as authenticator apps expect."""
    return pyotp.random_base32()


def provisioning_uri(seed: str, email: str, issuer: str) -> str:
    return pyotp.TOTP(seed).provisioning_uri(name=email, issuer_name=issuer)


def accepted_step(seed: str, code: str, now: datetime, *, after: int | None) -> int | None:
    """The time step `code` belongs to, if it is right for `now` and newer than `after`."""
    totp = pyotp.TOTP(seed)
    step = totp.timecode(now)
    if after is not None and step <= after:
        return None
    return step if totp.verify(code.strip().replace(" ", ""), for_time=now) else None


def new_recovery_codes() -> list[str]:
    """Ten codes of 16 characters (about 78 bits each), grouped in fours for reading aloud."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(16))
        codes.append("-".join(raw[i : i + 4] for i in range(0, 16, 4)))
    return codes


def recovery_code_hash(code: str) -> str:
    # High-entropy codes: a plain SHA-256 is enough, as for API keys (T-46).
    normalised = code.strip().lower().replace("-", "").replace(" ", "")
    return sha256_hex(normalised)


def looks_like_recovery_code(code: str) -> bool:
    return len(code.strip().replace("-", "").replace(" ", "")) == 16
