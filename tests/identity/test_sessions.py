"""The session a login leaves, and what ends or renews it: T-41 (a new reference at login, its
hash only stored, idle and absolute expiry, logout, ending other sessions), changing the
password, and T-42 (step-up before sensitive acts), on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from parlour.audit.events import Actor
from parlour.identity.errors import (
    InvalidCredentials,
    ReauthenticationRequired,
    SessionRequired,
)
from parlour.identity.passwords import PasswordRejected
from parlour.services import Services
from parlour.storage.tables import account_sessions
from tests.support.accounts import IP, PASSWORD, Accounts


async def test_login_issues_a_new_reference_and_the_pre_login_one_is_dead(
    people: Accounts,
) -> None:
    """T-41."""
    enrolled = await people.enrolled()
    pending = await people.login.log_in(enrolled.email, PASSWORD, source_ip=IP)
    active = await people.login.complete(pending.token, people.code(enrolled.seed), source_ip=IP)
    assert active.token != pending.token
    assert active.csrf_token != pending.csrf_token
    assert len(active.token) >= 43  # 256 bits, urlsafe base64
    with pytest.raises(SessionRequired):
        await people.sessions.pending(pending.token)


async def test_only_a_hash_of_the_session_reference_is_stored(
    people: Accounts, backend: Services
) -> None:
    """T-41."""
    enrolled = await people.enrolled()
    async with backend.db.read() as conn:
        stored = {row[0] for row in await conn.execute(select(account_sessions.c.token_hash))}
    assert enrolled.session.token not in stored
    assert hashlib.sha256(enrolled.session.token.encode()).hexdigest() in stored


async def test_sessions_end_after_30_idle_minutes_or_12_hours_whatever_the_activity(
    people: Accounts,
) -> None:
    """T-41."""
    enrolled = await people.enrolled()
    people.clock.advance(minutes=29)
    await people.sessions.active(enrolled.session.token)
    people.clock.advance(minutes=31)
    with pytest.raises(SessionRequired):
        await people.sessions.active(enrolled.session.token)

    busy = await people.enrolled()
    for _ in range(12 * 4):
        people.clock.advance(minutes=15)
        try:
            await people.sessions.active(busy.session.token)
        except SessionRequired:
            break
    else:
        raise AssertionError("an active session outlived 12 hours")


async def test_logout_ends_the_session_on_the_server(people: Accounts) -> None:
    """T-41."""
    enrolled = await people.enrolled()
    await people.sessions.log_out(enrolled.session.token)
    with pytest.raises(SessionRequired):
        await people.sessions.active(enrolled.session.token)


async def test_disabling_an_account_ends_every_session_it_has(people: Accounts) -> None:
    """T-41."""
    enrolled = await people.enrolled()
    pending = await people.login.log_in(enrolled.email, PASSWORD, source_ip=IP)
    second = await people.login.complete(pending.token, people.code(enrolled.seed), source_ip=IP)
    account = await people.accounts.by_email(enrolled.email)
    assert account is not None
    await people.accounts.disable(account.account_id, actor=Actor.system("tests"))
    for token in (enrolled.session.token, second.token):
        with pytest.raises(SessionRequired):
            await people.sessions.active(token)


async def test_a_person_can_end_their_other_sessions(people: Accounts) -> None:
    """T-41."""
    enrolled = await people.enrolled()
    pending = await people.login.log_in(enrolled.email, PASSWORD, source_ip=IP)
    laptop = await people.login.complete(pending.token, people.code(enrolled.seed), source_ip=IP)
    assert await people.sessions.end_others(laptop.token, source_ip=IP) == 1
    await people.sessions.active(laptop.token)
    with pytest.raises(SessionRequired):
        await people.sessions.active(enrolled.session.token)


async def test_a_new_password_needs_a_step_up_and_ends_the_other_sessions_when_asked(
    people: Accounts, backend: Services
) -> None:
    """T-41 (V7.4.3), T-42."""
    enrolled = await people.enrolled()
    pending = await people.login.log_in(enrolled.email, PASSWORD, source_ip=IP)
    laptop = await people.login.complete(pending.token, people.code(enrolled.seed), source_ip=IP)
    people.clock.advance(minutes=11)
    new_password = "a new and long passphrase for the bank"
    with pytest.raises(ReauthenticationRequired):
        await people.password_change.change(
            laptop.token, new_password, end_other_sessions=True, source_ip=IP
        )
    people.clock.next_step()
    renewed = await people.step_up.reauthenticate(
        laptop.token, PASSWORD, people.code(enrolled.seed), source_ip=IP
    )
    with pytest.raises(PasswordRejected):
        await people.password_change.change(
            renewed.token, "password1", end_other_sessions=True, source_ip=IP
        )
    ended = await people.password_change.change(
        renewed.token, new_password, end_other_sessions=True, source_ip=IP
    )

    assert ended == 1
    await people.sessions.active(renewed.token)
    with pytest.raises(SessionRequired):
        await people.sessions.active(enrolled.session.token)
    with pytest.raises(InvalidCredentials):
        await people.login.log_in(enrolled.email, PASSWORD, source_ip=IP)
    await people.login.log_in(enrolled.email, new_password, source_ip=IP)
    (event,) = await backend.audit.recent(
        "platform", limit=1, action_prefix="account.password_changed"
    )
    assert event["data"]["sessions_ended"] == 1  # type: ignore[index]


async def test_sensitive_acts_need_a_recent_step_up_which_renews_the_reference(
    people: Accounts,
) -> None:
    """T-42."""
    enrolled = await people.enrolled()
    people.clock.advance(minutes=11)
    session = await people.sessions.active(enrolled.session.token)
    with pytest.raises(ReauthenticationRequired):
        people.step_up.require_recent(session)
    with pytest.raises(ReauthenticationRequired):  # a new authenticator is such an act
        await people.mfa_enrolment.begin(enrolled.session.token)
    with pytest.raises(InvalidCredentials):
        await people.step_up.reauthenticate(
            enrolled.session.token, "wrong password", people.code(enrolled.seed), source_ip=IP
        )
    renewed = await people.step_up.reauthenticate(
        enrolled.session.token, PASSWORD, people.code(enrolled.seed), source_ip=IP
    )
    assert renewed.token != enrolled.session.token
    with pytest.raises(SessionRequired):
        await people.sessions.active(enrolled.session.token)
    people.step_up.require_recent(await people.sessions.active(renewed.token))
    await people.mfa_enrolment.begin(renewed.token)
