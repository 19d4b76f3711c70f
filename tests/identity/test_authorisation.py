"""What an account may do: in each organisation, what its role grants (T-29); on the platform,
what its platform role grants (T-45). What it may not see looks missing, not forbidden. On
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from parlour.errors import NotFound
from parlour.identity.errors import NotPermitted
from parlour.identity.models import PlatformRole, Role, Session
from parlour.identity.policy import Permission, PlatformPermission
from parlour.services import Services
from tests.support.accounts import Accounts, accounts_on
from tests.support.seed import ACTOR

IP = "198.51.100.7"


@pytest.fixture
def people(backend: Services, tmp_path: Path) -> Accounts:
    return accounts_on(backend, tmp_path)


async def signed_in(people: Accounts) -> tuple[Session, str]:
    """An owner's active session and their organisation's id."""
    enrolled = await people.enrolled()
    session = await people.sessions.active(enrolled.session.token)
    (membership,) = await people.authorisation.memberships(session.account.account_id)
    return session, membership.tenant_id


async def refusal(
    people: Accounts, session: Session, tenant_id: str, permission: Permission
) -> str:
    """The code of the error that refuses `permission` to `session`."""
    try:
        await people.authorisation.authorise(session, tenant_id, permission, source_ip=IP)
    except (NotFound, NotPermitted) as refused:
        return refused.code
    raise AssertionError(f"{permission} was granted")


async def test_an_owner_is_authorised_in_their_organisation_and_another_looks_missing(
    people: Accounts,
) -> None:
    """T-29."""
    (alice, alices), (_bob, bobs) = await signed_in(people), await signed_in(people)
    membership = await people.authorisation.authorise(
        alice, alices, Permission.MANAGE_KEYS, source_ip=IP
    )
    assert (membership.tenant_id, membership.role) == (alices, Role.OWNER)
    assert await refusal(people, alice, bobs, Permission.VIEW_ORGANISATION) == NotFound.code


async def test_a_member_whose_role_does_not_grant_it_is_refused_as_not_permitted(
    people: Accounts,
) -> None:
    """T-29."""
    owner, tenant_id = await signed_in(people)
    (by,) = await people.authorisation.memberships(owner.account.account_id)
    agent = await people.enrolled()
    invitation = await people.members.invite(tenant_id, agent.email, Role.AGENT, by=by, actor=ACTOR)
    session = await people.sessions.active(agent.session.token)
    await people.members.accept(invitation.invitation_id, session, source_ip=IP)

    allowed = Permission.HANDLE_CONVERSATIONS
    assert (await people.authorisation.authorise(session, tenant_id, allowed, source_ip=IP)).role
    assert await refusal(people, session, tenant_id, Permission.MANAGE_KEYS) == NotPermitted.code


async def test_the_operator_console_looks_missing_to_an_account_without_a_platform_role(
    people: Accounts,
) -> None:
    """T-45."""
    enrolled = await people.enrolled()
    session = await people.sessions.active(enrolled.session.token)
    verify = PlatformPermission.VERIFY_ORGANISATIONS
    with pytest.raises(NotFound):
        await people.authorisation.authorise_platform(session, verify, source_ip=IP)

    await people.platform_staff.set_role(enrolled.email, PlatformRole.OPERATOR, actor=ACTOR)
    operator = await people.sessions.active(enrolled.session.token)
    await people.authorisation.authorise_platform(operator, verify, source_ip=IP)
    with pytest.raises(NotFound):  # an operator manages no operators
        await people.authorisation.authorise_platform(
            operator, PlatformPermission.MANAGE_OPERATORS, source_ip=IP
        )
