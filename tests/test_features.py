"""An organisation's feature switches: kept by tenants and by the assistant's policy, read and
changed as one."""

from __future__ import annotations

import dataclasses

import pytest

from parlour.errors import NotFound
from parlour.features import FeatureChanges, Features
from parlour.services import Services
from tests.support import seed
from tests.support.seed import ACTOR

DEFAULTS = Features(
    anonymous_visitors=False,
    assistant_enabled=True,
    function_calling=False,
    external_llms=True,
    personalisation=False,
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
