"""Minting end-user tokens, in the service that mints: only for an origin or app the
organisation allowlisted, at the time of the services' clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from parlour.errors import AppNotAllowed, InvalidInput, OriginNotAllowed
from parlour.services import Services
from tests.conftest import migrated_services
from tests.support import seed
from tests.support.clock import SetClock

APP = "com.example.bank"


@pytest.fixture
def clock() -> SetClock:
    return SetClock(datetime(2026, 12, 6, 9, 0, tzinfo=UTC))


@pytest.fixture
async def services(sqlite_url: str, tmp_path: Path, clock: SetClock) -> AsyncIterator[Services]:
    async with migrated_services(tmp_path, sqlite_url, clock=clock) as built:
        yield built


async def test_t18_no_token_is_minted_for_an_origin_or_app_off_the_allowlist(
    services: Services,
) -> None:
    """T-18: whoever calls the service, a token is bound only to an origin or app the
    organisation allowlisted; the route holds no rule of its own."""
    org = await seed.organisation(services, faq=None)
    tokens = services.end_user_tokens
    with pytest.raises(OriginNotAllowed):
        await tokens.mint(
            org.tenant_id, widget_id=org.widget_id, user_id="u", origin="https://evil.com"
        )
    with pytest.raises(AppNotAllowed):
        await tokens.mint(org.tenant_id, widget_id=org.widget_id, user_id="u", app_id=APP)
    await services.tenants.allow_app(org.tenant_id, APP, actor=seed.ACTOR)
    assert await tokens.mint(org.tenant_id, widget_id=org.widget_id, user_id="u", app_id=APP)
    assert await tokens.mint(org.tenant_id, widget_id=org.widget_id, user_id="u", origin=org.origin)


@pytest.mark.parametrize(
    "binding",
    [{}, {"origin": "https://shop.example.com", "app_id": APP}],
    ids=["neither", "both"],
)
async def test_a_token_is_bound_to_one_origin_or_one_app(
    services: Services, binding: dict[str, str]
) -> None:
    org = await seed.organisation(services, faq=None)
    with pytest.raises(InvalidInput):
        await services.end_user_tokens.mint(
            org.tenant_id, widget_id=org.widget_id, user_id="u", **binding
        )


async def test_a_token_is_minted_and_verified_at_the_time_of_the_services_clock(
    services: Services, clock: SetClock
) -> None:
    org = await seed.organisation(services, faq=None)
    minted = await services.end_user_tokens.mint(
        org.tenant_id, widget_id=org.widget_id, user_id="u", origin=org.origin
    )
    claims = jwt.decode(minted.token, options={"verify_signature": False})
    assert claims["iat"] == claims["nbf"] == int(clock.now.timestamp())
    ttl = timedelta(seconds=services.settings.tokens.end_user_ttl_seconds)
    assert minted.expires_at == clock.now + ttl
    clock.advance(seconds=ttl.total_seconds() - 1)
    user = await services.end_user_tokens.verify(org.tenant_id, org.widget_id, minted.token)
    assert user.user_id == "u"
