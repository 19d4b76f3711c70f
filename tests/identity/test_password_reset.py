"""Resetting a forgotten password: a mailed link and a code, every session ended, the link's
expiry and the password policy, and an answer that says nothing of whether the account exists,
on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from parlour.errors import InvalidInput
from parlour.identity.errors import (
    InvalidCode,
    InvalidCredentials,
    SessionRequired,
)
from parlour.identity.models import Stage
from parlour.identity.passwords import PasswordRejected
from tests.support.accounts import IP, PASSWORD, Accounts, fresh_email


def reset_token(people: Accounts, address: str) -> str:
    mail = people.mails()[-1]
    assert mail["To"] == address
    assert mail["Subject"] == "Reset your Parlour password"
    return people.link_token(address)


async def test_a_password_reset_needs_the_mailed_link_and_a_code_and_ends_every_session(
    people: Accounts,
) -> None:
    """T-45: a reset does not bypass MFA; the link works once, and old sessions die."""
    enrolled = await people.enrolled()
    await people.password_reset.request(enrolled.email, source_ip=IP)
    token = reset_token(people, enrolled.email)
    new = "a brand new passphrase"
    with pytest.raises(InvalidCode):  # the link alone is not enough
        await people.password_reset.reset(token, new, "", source_ip=IP)
    with pytest.raises(InvalidCode):
        await people.password_reset.reset(token, new, "000000", source_ip=IP)
    await people.password_reset.reset(token, new, people.code(enrolled.seed), source_ip=IP)
    with pytest.raises(SessionRequired):
        await people.sessions.active(enrolled.session.token)
    with pytest.raises(InvalidCredentials):
        await people.login.log_in(enrolled.email, PASSWORD, source_ip=IP)
    assert (await people.login.log_in(enrolled.email, new, source_ip=IP)).stage is (
        Stage.MFA_REQUIRED
    )
    people.clock.next_step()
    with pytest.raises(InvalidInput):  # spent
        await people.password_reset.reset(
            token, "yet another passphrase", people.code(enrolled.seed), source_ip=IP
        )


async def test_a_reset_link_expires_after_an_hour_and_keeps_the_password_policy(
    people: Accounts,
) -> None:
    """T-45, T-39."""
    enrolled = await people.enrolled()
    await people.password_reset.request(enrolled.email, source_ip=IP)
    token = reset_token(people, enrolled.email)
    with pytest.raises(PasswordRejected):
        await people.password_reset.reset(
            token, "password", people.code(enrolled.seed), source_ip=IP
        )
    people.clock.advance(minutes=61)
    with pytest.raises(InvalidInput):
        await people.password_reset.reset(
            token, "a brand new passphrase", people.code(enrolled.seed), source_ip=IP
        )


async def test_asking_for_a_reset_says_nothing_about_whether_the_account_exists(
    people: Accounts,
) -> None:
    """T-40."""
    before = len(people.mails())
    await people.password_reset.request(fresh_email(), source_ip=IP)
    assert len(people.mails()) == before
