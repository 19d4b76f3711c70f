"""Password policy and hashing. NIST 800-63B / ASVS V6.2: length only (8 to 256 characters,
counted as typed, never truncated), no composition rules, and refused when it is among the
30,000 most common passwords of the breach corpora zxcvbn ships, or is built from the account's
own e-mail (T-39). Stored as Argon2id (argon2-cffi)."""

from __future__ import annotations

import functools
import unicodedata

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

from parlour.errors import InvalidInput

MIN_LENGTH = 8
MAX_LENGTH = 256


class PasswordRejected(InvalidInput):
    code = "password_rejected"
    default_message = "Choose another password."


@functools.cache
def _common() -> frozenset[str]:
    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])


def check_password(password: str, *, email: str) -> None:
    """Raise PasswordRejected with the reason a person can act on, or return."""
    password = unicodedata.normalize("NFKC", password)
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"Use at least {MIN_LENGTH} characters.")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected(f"Use at most {MAX_LENGTH} characters.")
    lowered = password.lower()
    if lowered in _common() or len(set(lowered)) < 3:
        raise PasswordRejected("This password is one of the most common; choose another.")
    local_part = email.partition("@")[0].lower()
    if len(local_part) >= 4 and local_part in lowered:
        raise PasswordRejected("Do not build the password from your e-mail address.")


class Passwords:
    """Argon2id with the given cost; hashes made with an older cost are upgraded at login."""

    def __init__(self, *, time_cost: int, memory_kib: int, parallelism: int) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )

    @functools.cached_property
    def _decoy(self) -> str:
        """Compared against when the account does not exist, so an unknown e-mail costs the
        same time as a wrong password (T-40). Made on first use, not at construction, so a
        command that checks no password does not pay a hash; a server makes it before it
        serves (`prepare`), so its first unknown login costs no more than any other."""
        return self._hasher.hash("decoy password for unknown accounts")

    def prepare(self) -> None:
        self._decoy  # noqa: B018 (made now, once)

    def hash(self, password: str) -> str:
        return self._hasher.hash(unicodedata.normalize("NFKC", password))

    def verify(self, stored: str | None, password: str) -> bool:
        typed = unicodedata.normalize("NFKC", password)
        try:
            return self._hasher.verify(stored or self._decoy, typed) and stored is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
