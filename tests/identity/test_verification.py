"""Four eyes on verification: an operator does not decide on an organisation they belong to
while another operator could, and a platform's sole operator may, marked so in the audit
chains. On SQLite and PostgreSQL, each on a database of the test's own, since how many
operators the platform has is the point."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from parlour.audit.events import PLATFORM_CHAIN, Actor, ActorType
from parlour.identity.models import PlatformRole
from parlour.identity.verification import OwnOrganisation
from parlour.services import Services
from parlour.tenants.models import Verification
from tests.conftest import BACKENDS, migrated_services
from tests.support.accounts import Accounts, accounts_on
from tests.support.databases import temporary_postgres_database
from tests.support.seed import ACTOR


@pytest.fixture(params=BACKENDS)
def platform_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgresql":
        yield from temporary_postgres_database()
    else:
        yield f"sqlite+aiosqlite:///{tmp_path / 'platform.db'}"


@pytest.fixture
async def platform(platform_url: str, tmp_path: Path) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, platform_url) as built:
        yield built


@pytest.fixture
def people(platform: Services, tmp_path: Path) -> Accounts:
    return accounts_on(platform, tmp_path)


async def operator_with_own_organisation(
    people: Accounts, platform: Services, email: str
) -> tuple[Actor, str]:
    """An account that signed up (so owns an organisation awaiting verification) and was made
    an operator; the operator as an actor, and their organisation's id."""
    await people.verified(email)
    account = await platform.platform_staff.set_role(email, PlatformRole.OPERATOR, actor=ACTOR)
    (membership,) = await platform.authorisation.memberships(account.account_id)
    return Actor(ActorType.OPERATOR, account.account_id), membership.tenant_id


async def decisions(platform: Services, chain: str) -> list[dict[str, object]]:
    events = await platform.audit.recent(chain, action_prefix="tenant.verification_decided")
    return [e["data"] for e in events]  # type: ignore[misc]


async def test_the_sole_operator_verifies_their_own_organisation_and_the_chains_say_so(
    people: Accounts, platform: Services
) -> None:
    """T-44: the single-operator case, where four eyes cannot apply."""
    operator, own = await operator_with_own_organisation(people, platform, "ops@platform.test")
    tenant = await platform.verification.decide(
        own, approve=True, reason="The only operator; checked the register.", actor=operator
    )
    assert tenant.verification is Verification.VERIFIED
    for chain in (own, PLATFORM_CHAIN):
        [decided] = await decisions(platform, chain)
        assert decided["own_organisation"] is True


async def test_with_a_second_operator_one_cannot_decide_on_their_own_organisation(
    people: Accounts, platform: Services
) -> None:
    """T-44: four eyes; the refusal changes nothing and records nothing."""
    first, own = await operator_with_own_organisation(people, platform, "first@platform.test")
    second, _ = await operator_with_own_organisation(people, platform, "second@platform.test")
    for approve in (True, False):
        with pytest.raises(OwnOrganisation) as refused:
            await platform.verification.decide(own, approve=approve, reason="Mine.", actor=first)
        assert refused.value.code == "four_eyes"
    assert (await platform.tenants.get(own)).verification is Verification.PENDING
    assert await decisions(platform, own) == []

    await platform.verification.decide(own, approve=True, reason="Checked.", actor=second)
    [decided] = await decisions(platform, own)
    assert decided["own_organisation"] is False
    assert (await platform.tenants.get(own)).verification is Verification.VERIFIED


async def test_a_disabled_or_demoted_operator_does_not_count_as_the_second_pair_of_eyes(
    people: Accounts, platform: Services
) -> None:
    """T-44: only accounts that could decide count."""
    first, own = await operator_with_own_organisation(people, platform, "first@platform.test")
    second, _ = await operator_with_own_organisation(people, platform, "second@platform.test")
    await platform.accounts.disable(second.id, actor=ACTOR)
    await platform.verification.decide(own, approve=True, reason="Alone again.", actor=first)
    third, theirs = await operator_with_own_organisation(people, platform, "third@platform.test")
    await platform.platform_staff.set_role("first@platform.test", None, actor=ACTOR)
    await platform.verification.decide(theirs, approve=False, reason="Alone too.", actor=third)
    assert (await platform.tenants.get(theirs)).verification is Verification.REJECTED


async def test_an_operator_decides_on_an_organisation_they_do_not_belong_to(
    people: Accounts, platform: Services
) -> None:
    operator, _ = await operator_with_own_organisation(people, platform, "ops@platform.test")
    await operator_with_own_organisation(people, platform, "other@platform.test")
    customer = await platform.tenants.create("Harbour Bank", actor=ACTOR)
    await platform.verification.decide(
        customer.tenant_id, approve=False, reason="No register entry.", actor=operator
    )
    [decided] = await decisions(platform, customer.tenant_id)
    assert decided["own_organisation"] is False
