"""Who belongs to an organisation: invitations that only the invited address can accept, new
accounts made from an invitation (still enrolling MFA at first login), roles only an owner can
grant to owners, and an organisation never left without an owner. On SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import pytest

from parlour.errors import Conflict, NotFound
from parlour.identity.errors import InvalidCredentials, NotPermitted
from parlour.identity.mail import MailUnavailable, SmtpMailer
from parlour.identity.members import InvitationInvalid, LastOwner
from parlour.identity.models import Membership, Role, Session, Stage
from parlour.identity.policy import Permission
from parlour.services import Services
from tests.support.accounts import PASSWORD, Accounts, accounts_on
from tests.support.seed import ACTOR
from tests.support.servers import free_socket
from tests.support.smtp import smtp_relay

IP = "198.51.100.7"


@pytest.fixture
def people(backend: Services, tmp_path: Path) -> Accounts:
    return accounts_on(backend, tmp_path)


@dataclass
class Person:
    email: str
    session: Session
    membership: Membership  # in the organisation under test


async def owner_of_new_organisation(people: Accounts) -> Person:
    enrolled = await people.enrolled()
    session = await people.sessions.active(enrolled.session.token)
    (membership,) = await people.authorisation.memberships(session.account.account_id)
    return Person(enrolled.email, session, membership)


async def invite_and_accept(people: Accounts, owner: Person, role: Role) -> Person:
    enrolled = await people.enrolled()
    invitation = await people.members.invite(
        owner.membership.tenant_id, enrolled.email, role, by=owner.membership, actor=ACTOR
    )
    session = await people.sessions.active(enrolled.session.token)
    membership = await people.members.accept(invitation.invitation_id, session, source_ip=IP)
    return Person(enrolled.email, session, membership)


async def test_an_invited_account_accepts_and_joins_with_the_role_it_was_given(
    people: Accounts, backend: Services
) -> None:
    owner = await owner_of_new_organisation(people)
    agent = await invite_and_accept(people, owner, Role.AGENT)

    assert agent.membership == Membership(
        agent.session.account.account_id, owner.membership.tenant_id, Role.AGENT
    )
    listed = await people.members.members(owner.membership.tenant_id)
    assert [(m.email, m.role) for m in listed] == [
        (owner.email, Role.OWNER),
        (agent.email, Role.AGENT),
    ]
    assert await people.members.invitations(owner.membership.tenant_id) == []
    mail = people.mails()[-1]
    assert mail["Subject"] == "You are invited to Acme Bank on Parlour"
    events = await backend.audit.recent(owner.membership.tenant_id, limit=2)
    assert [e["action"] for e in reversed(events)] == [
        "account.member_invited",
        "account.member_added",
    ]


async def test_an_invitation_waits_for_its_address_alone_and_is_accepted_once(
    people: Accounts,
) -> None:
    owner = await owner_of_new_organisation(people)
    invited, stranger = await people.enrolled(), await people.enrolled()
    tenant_id = owner.membership.tenant_id
    invitation = await people.members.invite(
        tenant_id, invited.email, Role.ADMIN, by=owner.membership, actor=ACTOR
    )
    stranger_session = await people.sessions.active(stranger.session.token)
    invited_session = await people.sessions.active(invited.session.token)

    assert await people.members.invitations_for(stranger_session) == []
    assert await people.members.invitations_for(invited_session) == [(invitation, "Acme Bank")]
    with pytest.raises(InvitationInvalid):
        await people.members.accept(invitation.invitation_id, stranger_session, source_ip=IP)
    await people.members.accept(invitation.invitation_id, invited_session, source_ip=IP)
    with pytest.raises(InvitationInvalid):
        await people.members.accept(invitation.invitation_id, invited_session, source_ip=IP)
    assert len(await people.members.members(tenant_id)) == 2


async def test_an_invitation_expires_after_seven_days_and_can_be_revoked(
    people: Accounts,
) -> None:
    owner = await owner_of_new_organisation(people)
    tenant_id = owner.membership.tenant_id
    late, revoked = await people.enrolled(), await people.enrolled()
    await people.members.invite(tenant_id, late.email, Role.AGENT, by=owner.membership, actor=ACTOR)
    invitation = await people.members.invite(
        tenant_id, revoked.email, Role.AGENT, by=owner.membership, actor=ACTOR
    )
    await people.members.revoke_invitation(tenant_id, invitation.invitation_id, actor=ACTOR)
    with pytest.raises(InvitationInvalid):
        await people.members.invitation(people.link_token(revoked.email))

    people.clock.advance(days=7, seconds=1)
    with pytest.raises(InvitationInvalid):
        await people.members.invitation(people.link_token(late.email))
    assert await people.members.invitations(tenant_id) == []


async def test_someone_without_an_account_signs_up_from_the_invitation_and_still_enrols_mfa(
    people: Accounts,
) -> None:
    owner = await owner_of_new_organisation(people)
    newcomer = f"new-{secrets.token_hex(4)}@example.com"
    await people.members.invite(
        owner.membership.tenant_id, newcomer, Role.ANALYST, by=owner.membership, actor=ACTOR
    )
    token = people.link_token(newcomer)
    _invitation, organisation, has_account = await people.members.invitation(token)
    assert (organisation, has_account) == ("Acme Bank", False)

    await people.members.sign_up_invited(token, PASSWORD, source_ip=IP)

    account = await people.accounts.by_email(newcomer)
    assert account is not None
    assert account.email_verified
    assert not account.mfa_enabled
    assert await people.authorisation.memberships(account.account_id) == [
        Membership(account.account_id, owner.membership.tenant_id, Role.ANALYST)
    ]
    first = await people.login.log_in(newcomer, PASSWORD, source_ip=IP)
    assert first.stage is Stage.MFA_ENROLMENT
    with pytest.raises(InvitationInvalid):
        await people.members.sign_up_invited(token, PASSWORD, source_ip=IP)


async def test_an_invitation_to_an_address_with_an_account_does_not_make_a_second_one(
    people: Accounts,
) -> None:
    owner = await owner_of_new_organisation(people)
    existing = await people.enrolled()
    await people.members.invite(
        owner.membership.tenant_id, existing.email, Role.AGENT, by=owner.membership, actor=ACTOR
    )
    with pytest.raises(Conflict):
        await people.members.sign_up_invited(
            people.link_token(existing.email), PASSWORD, source_ip=IP
        )


async def test_only_an_owner_makes_or_touches_an_owner(people: Accounts) -> None:
    owner = await owner_of_new_organisation(people)
    admin = await invite_and_accept(people, owner, Role.ADMIN)
    tenant_id = owner.membership.tenant_id
    owner_id = owner.session.account.account_id

    with pytest.raises(NotPermitted):
        await people.members.invite(
            tenant_id, "x@example.com", Role.OWNER, by=admin.membership, actor=ACTOR
        )
    with pytest.raises(NotPermitted):
        await people.members.change_role(
            tenant_id, owner_id, Role.AGENT, by=admin.membership, actor=ACTOR
        )
    with pytest.raises(NotPermitted):
        await people.members.remove(tenant_id, owner_id, by=admin.membership, actor=ACTOR)
    admin_id = admin.session.account.account_id
    with pytest.raises(NotPermitted):
        await people.members.change_role(
            tenant_id, admin_id, Role.OWNER, by=admin.membership, actor=ACTOR
        )
    await people.members.change_role(
        tenant_id, admin_id, Role.OWNER, by=owner.membership, actor=ACTOR
    )
    roles = {m.email: m.role for m in await people.members.members(tenant_id)}
    assert roles == {owner.email: Role.OWNER, admin.email: Role.OWNER}


async def test_the_last_owner_can_be_neither_demoted_nor_removed(people: Accounts) -> None:
    owner = await owner_of_new_organisation(people)
    tenant_id, owner_id = owner.membership.tenant_id, owner.session.account.account_id
    with pytest.raises(LastOwner):
        await people.members.change_role(
            tenant_id, owner_id, Role.ADMIN, by=owner.membership, actor=ACTOR
        )
    with pytest.raises(LastOwner):
        await people.members.remove(tenant_id, owner_id, by=owner.membership, actor=ACTOR)

    second = await invite_and_accept(people, owner, Role.OWNER)
    await people.members.remove(tenant_id, owner_id, by=second.membership, actor=ACTOR)
    assert [m.email for m in await people.members.members(tenant_id)] == [second.email]


async def test_a_removed_member_loses_access_at_their_next_request(
    people: Accounts, backend: Services
) -> None:
    owner = await owner_of_new_organisation(people)
    agent = await invite_and_accept(people, owner, Role.AGENT)
    tenant_id = owner.membership.tenant_id
    await people.members.remove(
        tenant_id, agent.session.account.account_id, by=owner.membership, actor=ACTOR
    )
    with pytest.raises(NotFound):
        await people.authorisation.authorise(
            agent.session, tenant_id, Permission.VIEW_ORGANISATION, source_ip=IP
        )
    (event,) = await backend.audit.recent(tenant_id, limit=1)
    assert event["action"] == "account.member_removed"


async def test_an_invitation_whose_mail_cannot_be_sent_is_taken_back(
    people: Accounts, backend: Services, tmp_path: Path
) -> None:
    """The mail server refuses the connection: the inviter is told, and no invitation that
    nobody received stays open."""
    owner = await owner_of_new_organisation(people)
    tenant_id = owner.membership.tenant_id
    closed = free_socket()  # bound, never listening: connections to it are refused
    try:
        nowhere = SmtpMailer(
            "127.0.0.1", closed.getsockname()[1], "Parlour <no-reply@localhost>", security="none"
        )
        unmailed = accounts_on(backend, tmp_path, mailer=nowhere)
        with pytest.raises(MailUnavailable):
            await unmailed.members.invite(
                tenant_id, "new@example.com", Role.AGENT, by=owner.membership, actor=ACTOR
            )
    finally:
        closed.close()
    assert await people.members.invitations(tenant_id) == []
    events = [e["action"] for e in await backend.audit.recent(tenant_id, limit=2)]
    assert events == ["account.invitation_revoked", "account.member_invited"]
    # Invited again once mail works, the address gets its link.
    await people.members.invite(
        tenant_id, "new@example.com", Role.AGENT, by=owner.membership, actor=ACTOR
    )
    assert people.link_token("new@example.com")


async def test_inviting_a_member_again_is_a_conflict(people: Accounts) -> None:
    owner = await owner_of_new_organisation(people)
    with pytest.raises(Conflict):
        await people.members.invite(
            owner.membership.tenant_id, owner.email, Role.ADMIN, by=owner.membership, actor=ACTOR
        )


async def test_the_demo_sets_up_its_agent_with_a_new_password_on_every_run(
    people: Accounts, backend: Services
) -> None:
    """`parlour demo` prints an agent login for its own organisation; a run replaces the
    password of the run before, and the agent's membership and authenticator stay."""
    organisation = await backend.tenants.create("Demo Bank", actor=ACTOR)
    # Its own address: the run's PostgreSQL database also holds the browser tests' demo agent.
    email = f"agent-{secrets.token_hex(4)}@demo-bank.example"
    first, second = "first demo passphrase", "second demo passphrase"
    await people.members.set_up_demo_member(
        organisation.tenant_id, email, first, Role.AGENT, actor=ACTOR
    )
    login = await people.login.log_in(email, first, source_ip=IP)
    assert login.stage is Stage.MFA_ENROLMENT
    account = await people.accounts.by_email(email)
    assert account is not None
    assert account.email_verified
    await people.members.set_up_demo_member(
        organisation.tenant_id, email, second, Role.AGENT, actor=ACTOR
    )
    with pytest.raises(InvalidCredentials):
        await people.login.log_in(email, first, source_ip=IP)
    await people.login.log_in(email, second, source_ip=IP)
    assert await people.authorisation.memberships(account.account_id) == [
        Membership(account.account_id, organisation.tenant_id, Role.AGENT)
    ]


# An encoded word hiding CR LF and a Bcc header: this Python (3.11.7) decodes it in a header value
# and wrote the CR LF raw (CVE-2024-6923).
HOSTILE_NAME = "=?utf-8?q?Evil=0D=0ABcc=3A_thief=40evil.example?="


async def test_t101_an_organisations_name_cannot_add_a_header_to_its_invitation_mail(
    people: Accounts, backend: Services, tmp_path: Path
) -> None:
    """T-101: the invitation's subject names the organisation, a name its owner chose: through
    a real SMTP server (aiosmtpd), the mail goes to the invited address alone, with no header
    but those Parlour wrote, and the name as text."""
    owner = f"owner-{secrets.token_hex(4)}@example.com"
    await people.signup.sign_up(owner, PASSWORD, HOSTILE_NAME, source_ip=IP)
    await people.email_verification.verify(people.link_token(owner), source_ip=IP)
    account = await people.accounts.by_email(owner)
    assert account is not None
    (membership,) = await people.authorisation.memberships(account.account_id)
    with smtp_relay() as relay:
        mailer = SmtpMailer("127.0.0.1", relay.port, "no-reply@parlour.test", security="none")
        mailing = accounts_on(backend, tmp_path, mailer=mailer)
        await mailing.members.invite(
            membership.tenant_id, "dana@example.com", Role.AGENT, by=membership, actor=ACTOR
        )
        [(recipients, mail)] = relay.messages()
    assert recipients == ["dana@example.com"]
    assert "Bcc" not in mail
    assert sorted(mail.keys()) == sorted(
        ["From", "To", "Subject", "Content-Type", "Content-Transfer-Encoding", "MIME-Version"]
    )
    assert mail["Subject"] == (
        "You are invited to = ?utf-8?q?Evil=0D=0ABcc=3A_thief=40evil.example?= on Parlour"
    )
