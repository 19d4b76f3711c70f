"""An organisation's feature switches: kept by tenants and by the assistant's policy, read and
changed as one."""

from __future__ import annotations

import dataclasses

import pytest

from parlour.chat.reach import Reach
from parlour.errors import NotFound
from parlour.features import FeatureChanges, Features
from parlour.identity.models import Role
from parlour.services import Services
from tests.support import seed
from tests.support.seed import ACTOR

DEFAULTS = Features(
    anonymous_visitors=False,
    assistant_enabled=True,
    function_calling=False,
    external_llms=True,
    personalisation=False,
    talk_to_a_person=True,
)


async def _actions(services: Services, tenant_id: str) -> list[str]:
    return [str(e["action"]) for e in await services.audit.recent(tenant_id)]


async def test_switches_left_out_keep_their_values_and_each_change_is_audited_by_its_owner(
    backend: Services,
) -> None:
    org = await seed.organisation(backend, faq=None)
    assert await backend.features.of(org.tenant_id) == DEFAULTS

    changed = await backend.features.change(
        org.tenant_id,
        FeatureChanges(anonymous_visitors=True, function_calling=True),
        actor=ACTOR,
    )

    assert changed == dataclasses.replace(DEFAULTS, anonymous_visitors=True, function_calling=True)
    assert await backend.features.of(org.tenant_id) == changed
    assert (await backend.tenants.get(org.tenant_id)).anonymous_visitors
    assert (await backend.assistant.configuration.policy(org.tenant_id)).tools_enabled
    actions = await _actions(backend, org.tenant_id)
    assert actions[:2] == ["assistant.policy_set", "tenant.anonymous_visitors_set"]


async def test_a_change_that_fails_half_way_changes_nothing(
    backend: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The visitors' switch is written first; when the assistant's part fails after it, the
    transaction they share leaves both as they were, and nothing is audited."""
    org = await seed.organisation(backend, faq=None)
    before = await _actions(backend, org.tenant_id)

    async def failing(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the assistant's part failed")

    monkeypatch.setattr(backend.assistant.configuration, "set_policy_in", failing)
    with pytest.raises(RuntimeError):
        await backend.features.change(
            org.tenant_id,
            FeatureChanges(anonymous_visitors=True, assistant_enabled=False),
            actor=ACTOR,
        )

    assert await backend.features.of(org.tenant_id) == DEFAULTS
    assert await _actions(backend, org.tenant_id) == before


async def test_an_unknown_organisation_has_no_switches(services: Services) -> None:
    with pytest.raises(NotFound):
        await services.features.of("no-such-organisation")


async def _member(services: Services, tenant_id: str, role: Role) -> None:
    email = f"{role.value}-{tenant_id}@example.com"
    await services.signup.sign_up(email, "a long enough passphrase", "Their own", source_ip=None)
    await services.members.add(tenant_id, email, role, actor=ACTOR)


async def test_people_can_be_asked_for_when_a_member_handles_conversations_and_it_is_allowed(
    backend: Services,
) -> None:
    org = await seed.organisation(backend, faq=None)
    nobody = await backend.features.reach(org.tenant_id)
    await _member(backend, org.tenant_id, Role.ANALYST)
    analysts_only = await backend.features.reach(org.tenant_id)
    await _member(backend, org.tenant_id, Role.AGENT)
    an_agent = await backend.features.reach(org.tenant_id)
    off = FeatureChanges(talk_to_a_person=False, assistant_enabled=False)
    await backend.features.change(org.tenant_id, off, actor=ACTOR)
    switched_off = await backend.features.reach(org.tenant_id)

    assert nobody == Reach(people=False, assistant=True)
    assert analysts_only == Reach(people=False, assistant=True)
    assert an_agent == Reach(people=True, assistant=True)
    assert switched_off == Reach(people=False, assistant=False)
    assert "tenant.talk_to_a_person_set" in await _actions(backend, org.tenant_id)
