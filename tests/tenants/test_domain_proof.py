"""An origin joins an organisation's allowlist only after the organisation proves it controls the
host, by a DNS TXT record or a file under /.well-known; until then the widget is refused there.
Loopback origins need no proof. Every step is audited."""

from __future__ import annotations

import pytest

from parlour.errors import Conflict, NotFound, OriginNotAllowed, RateLimited
from parlour.services import Services
from parlour.tenants.domain_proof import WELL_KNOWN_PATH, OriginUnproven, ProofMethod
from tests.support.dns import dns_server, unique_host
from tests.support.seed import ACTOR
from tests.support.sites import Page, serving


async def new_tenant(services: Services, name: str = "Shop") -> str:
    return (await services.tenants.create(name, actor=ACTOR)).tenant_id


async def actions(services: Services, tenant_id: str) -> list[tuple[object, object]]:
    events = await services.audit.recent(tenant_id)
    return [(e["action"], e["data"]) for e in reversed(events)]


async def test_a_new_origin_waits_for_proof_and_the_widget_is_refused_there_meanwhile(
    services: Services,
) -> None:
    tenant_id = await new_tenant(services)
    origin = f"https://{unique_host()}"
    claim = await services.tenants.request_origin(tenant_id, origin, actor=ACTOR)
    assert claim is not None
    assert claim.dns_name == f"_parlour-challenge.{claim.host}"
    assert claim.dns_value == f"parlour-domain-verification={claim.token}"
    assert claim.well_known_url == origin + WELL_KNOWN_PATH
    assert len(claim.token) >= 32
    assert await services.tenants.origins(tenant_id) == []
    with pytest.raises(OriginNotAllowed):
        await services.tenants.require_origin(tenant_id, origin)
    again = await services.tenants.request_origin(tenant_id, origin, actor=ACTOR)
    assert again is not None
    assert again.token == claim.token


async def test_a_txt_record_with_the_token_proves_the_origin(services: Services) -> None:
    tenant_id = await new_tenant(services)
    origin = f"https://{unique_host()}"
    claim = await services.tenants.request_origin(tenant_id, origin, actor=ACTOR)
    assert claim is not None
    dns_server().zone.set(claim.dns_name, "TXT", "unrelated", claim.dns_value)

    assert await services.tenants.check_origin(tenant_id, origin, actor=ACTOR) is ProofMethod.DNS

    assert await services.tenants.origins(tenant_id) == [origin]
    assert await services.tenants.pending_origins(tenant_id) == []
    assert await services.tenants.require_origin(tenant_id, origin) == origin
    assert await actions(services, tenant_id) == [
        ("tenant.created", {"name": "Shop"}),
        ("tenant.origin_claimed", {"origin": origin}),
        ("tenant.origin_allowed", {"origin": origin, "proof": "dns"}),
    ]


async def test_a_file_under_well_known_with_the_token_proves_the_origin(
    services: Services,
) -> None:
    tenant_id = await new_tenant(services)
    host = unique_host()
    dns_server().zone.set(host, "A", "127.0.0.1")
    with serving({}) as site:
        origin = f"http://{host}:{site.port}"
        claim = await services.tenants.request_origin(tenant_id, origin, actor=ACTOR)
        assert claim is not None
        site.pages[WELL_KNOWN_PATH] = Page(f"{claim.token}\n".encode())
        method = await services.tenants.check_origin(tenant_id, origin, actor=ACTOR)
    assert method is ProofMethod.WELL_KNOWN
    assert await services.tenants.origins(tenant_id) == [origin]


async def test_without_the_proof_the_check_says_what_it_looked_for_and_allows_nothing(
    services: Services,
) -> None:
    tenant_id = await new_tenant(services)
    host = unique_host()
    dns_server().zone.set(host, "A", "127.0.0.1")
    with serving({WELL_KNOWN_PATH: Page(b"someone-elses-token")}) as site:
        origin = f"http://{host}:{site.port}"
        await services.tenants.request_origin(tenant_id, origin, actor=ACTOR)
        with pytest.raises(OriginUnproven) as refused:
            await services.tenants.check_origin(tenant_id, origin, actor=ACTOR)
    assert f"_parlour-challenge.{host}" in refused.value.details["dns"]
    assert "the file lacks the token" in refused.value.details["well_known"]
    assert await services.tenants.origins(tenant_id) == []
    (pending,) = await services.tenants.pending_origins(tenant_id)
    assert pending.checked_at is not None


async def test_one_organisations_proof_does_not_prove_the_same_origin_for_another(
    services: Services,
) -> None:
    """T-29: tokens are per organisation, so copying a rival's published record proves nothing."""
    origin = f"https://{unique_host()}"
    ours, theirs = await new_tenant(services, "Ours"), await new_tenant(services, "Theirs")
    our_claim = await services.tenants.request_origin(ours, origin, actor=ACTOR)
    their_claim = await services.tenants.request_origin(theirs, origin, actor=ACTOR)
    assert our_claim is not None
    assert their_claim is not None
    assert our_claim.token != their_claim.token
    dns_server().zone.set(our_claim.dns_name, "TXT", our_claim.dns_value)

    with pytest.raises(OriginUnproven):
        await services.tenants.check_origin(theirs, origin, actor=ACTOR)
    await services.tenants.check_origin(ours, origin, actor=ACTOR)
    assert await services.tenants.origins(theirs) == []


async def test_a_proof_file_on_a_host_resolving_to_a_private_address_is_never_fetched(
    services: Services,
) -> None:
    """SSRF: the tests allow loopback; 10.0.0.0/8 stays refused, and the check says why."""
    tenant_id = await new_tenant(services)
    host = unique_host()
    dns_server().zone.set(host, "A", "10.0.0.7")
    origin = f"https://{host}"
    await services.tenants.request_origin(tenant_id, origin, actor=ACTOR)
    with pytest.raises(OriginUnproven) as refused:
        await services.tenants.check_origin(tenant_id, origin, actor=ACTOR)
    assert "not fetched" in refused.value.details["well_known"]


async def test_loopback_origins_are_allowed_at_once_for_development(services: Services) -> None:
    tenant_id = await new_tenant(services)
    assert (
        await services.tenants.request_origin(tenant_id, "http://localhost:3000/", actor=ACTOR)
        is None
    )
    assert await services.tenants.origins(tenant_id) == ["http://localhost:3000"]
    assert (await actions(services, tenant_id))[-1] == (
        "tenant.origin_allowed",
        {"origin": "http://localhost:3000", "proof": "loopback"},
    )


async def test_asking_for_an_allowed_origin_again_is_a_conflict(services: Services) -> None:
    tenant_id = await new_tenant(services)
    await services.tenants.allow_origin(tenant_id, "https://shop.example.com", actor=ACTOR)
    with pytest.raises(Conflict):
        await services.tenants.request_origin(tenant_id, "https://shop.example.com", actor=ACTOR)


async def test_origins_and_claims_can_be_removed_and_the_widget_is_refused_after(
    services: Services,
) -> None:
    tenant_id = await new_tenant(services)
    allowed, claimed = "https://shop.example.com", f"https://{unique_host()}"
    await services.tenants.allow_origin(tenant_id, allowed, actor=ACTOR)
    await services.tenants.request_origin(tenant_id, claimed, actor=ACTOR)

    await services.tenants.remove_origin(tenant_id, "https://SHOP.example.com/", actor=ACTOR)
    await services.tenants.remove_origin(tenant_id, claimed, actor=ACTOR)

    with pytest.raises(OriginNotAllowed):
        await services.tenants.require_origin(tenant_id, allowed)
    assert await services.tenants.pending_origins(tenant_id) == []
    with pytest.raises(NotFound):
        await services.tenants.remove_origin(tenant_id, allowed, actor=ACTOR)
    assert (await actions(services, tenant_id))[-2:] == [
        ("tenant.origin_removed", {"origin": allowed, "was": "allowlist"}),
        ("tenant.origin_removed", {"origin": claimed, "was": "claim"}),
    ]


async def test_checks_are_rate_limited_per_organisation(services: Services) -> None:
    """Each check makes Parlour look a host up on the organisation's behalf."""
    tenant_id = await new_tenant(services)
    origin = f"https://{unique_host()}"
    await services.tenants.request_origin(tenant_id, origin, actor=ACTOR)
    rule = services.settings.egress.origin_checks_per_tenant
    allowed = int(rule.split("/")[0])
    checked = 0
    with pytest.raises(RateLimited):  # noqa: PT012 (counting the checks it lets through)
        for _ in range(allowed + 2):
            with pytest.raises(OriginUnproven):
                await services.tenants.check_origin(tenant_id, origin, actor=ACTOR)
            checked += 1
    # `limits`' sliding window counter rounds the last window's weighted hits down, so checks
    # that straddle the turn of the hour (seen in a run at 07:00:00.6) let one more through.
    assert allowed <= checked <= allowed + 1


async def test_checking_an_origin_nobody_asked_for_is_not_found(services: Services) -> None:
    tenant_id = await new_tenant(services)
    with pytest.raises(NotFound):
        await services.tenants.check_origin(tenant_id, "https://shop.example.com", actor=ACTOR)


async def test_apps_are_listed_and_removed_with_an_audit_record(services: Services) -> None:
    tenant_id = await new_tenant(services)
    await services.tenants.allow_app(tenant_id, "com.example.shop", actor=ACTOR)
    assert await services.tenants.apps(tenant_id) == ["com.example.shop"]
    await services.tenants.remove_app(tenant_id, "com.example.shop", actor=ACTOR)
    assert await services.tenants.apps(tenant_id) == []
    assert not await services.tenants.has_app(tenant_id, "com.example.shop")
    assert (await actions(services, tenant_id))[-1] == (
        "tenant.app_removed",
        {"app_id": "com.example.shop"},
    )
