"""T-39: the password policy asks for length only, refuses the common and the obvious, and
stores Argon2id."""

from __future__ import annotations

import pytest

from parlour.identity.passwords import PasswordRejected, Passwords, check_password

EMAIL = "dana.owner@example.com"


@pytest.mark.parametrize(
    "password",
    [
        "eight ch",  # 8 characters, nothing else asked
        "alllowercaselettersonly",
        "x" * 3 + "y" * 3 + "z" * 2,
        "ünïcödé pässwörd",
        "abcd" * 16,  # 64 characters
        "a long passphrase " * 14,  # 252 characters
    ],
)
def test_any_password_of_8_to_256_characters_without_composition_rules_is_accepted(
    password: str,
) -> None:
    """T-39."""
    check_password(password, email=EMAIL)


@pytest.mark.parametrize("password", ["seven c", "", "1234567"])
def test_a_password_under_8_characters_is_refused(password: str) -> None:
    """T-39."""
    with pytest.raises(PasswordRejected, match="at least 8"):
        check_password(password, email=EMAIL)


@pytest.mark.parametrize(
    "password", ["password", "12345678", "qwertyuiop", "Iloveyou", "DRAGON123"]
)
def test_a_password_among_the_most_common_is_refused_whatever_its_case(
    password: str,
) -> None:
    """T-39."""
    with pytest.raises(PasswordRejected, match="most common"):
        check_password(password, email=EMAIL)


def test_a_password_built_from_the_email_address_is_refused() -> None:
    """T-39."""
    with pytest.raises(PasswordRejected, match="e-mail"):
        check_password("dana.owner2026!", email=EMAIL)


def test_passwords_are_stored_as_argon2id_and_never_truncated() -> None:
    """T-39."""
    passwords = Passwords(time_cost=1, memory_kib=8 * 1024, parallelism=1)
    long = "s" * 100 + "-the-end"
    stored = passwords.hash(long)
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, long)
    assert not passwords.verify(stored, "s" * 100 + "-the-enD")  # a change past byte 72 counts
    assert not passwords.verify(stored, "s" * 100)


def test_an_unknown_account_still_costs_a_real_verification_and_never_matches() -> None:
    passwords = Passwords(time_cost=1, memory_kib=8 * 1024, parallelism=1)
    assert not passwords.verify(None, "decoy password for unknown accounts")
