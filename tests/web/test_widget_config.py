"""The widget's public config and logo, as organisations' pages read them: the defaults until
the organisation sets anything, then its own look and nothing of another's; cached with an
ETag (304 when unchanged), readable across origins without credentials, JSON only; an unknown
or refused widget is 404 in the error shape. The logo is a PNG at a URL named by its content,
cached for good, with nosniff (T-109)."""

from __future__ import annotations

import httpx

from parlour.features import FeatureChanges
from parlour.tenants.appearance import FEATURES
from tests.conftest import Stack
from tests.support.images import image_bytes
from tests.support.seed import ACTOR
from tests.web.test_errors import assert_error_shape

PAGE = {"Origin": "https://www.bank.example"}
LOOK = {
    "title": "Ask Brand Bank",
    "greeting": "Hello! How can we help?",
    "brand_colour": "#0b5d1e",
    "launcher_position": "left",
    "hours_message": "We're closed, back on Monday.",
    "features": {"attachments": True, "rating": False, "transcript": True, "person": True},
    "language": "fr",
}


async def test_an_organisation_that_set_nothing_gets_the_defaults(stack: Stack) -> None:
    tenant = await stack.services.tenants.create("Plain Bank", actor=ACTOR)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        answer = await client.get(f"/widget/v1/config/{tenant.widget_id}", headers=PAGE)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {
        "title": "Chat with us",
        "greeting": None,
        "brand_colour": "#1f5fbf",
        "logo_url": None,
        "launcher_position": "right",
        "hours_message": None,
        "features": {"attachments": False, "rating": True, "transcript": True, "person": True},
        "language": "auto",
    }
    assert set(answer.json()["features"]) == set(FEATURES)


async def test_the_config_carries_the_organisations_look_and_nothing_of_anothers(
    stack: Stack,
) -> None:
    """T-109: the logo is served as a PNG, nosniff, for its own organisation's widget only."""
    tenant = await stack.services.tenants.create("Brand Bank", actor=ACTOR)
    other = await stack.services.tenants.create("Other Bank", actor=ACTOR)
    await stack.services.widget_appearance.set(
        tenant.tenant_id,
        **LOOK,
        logo=image_bytes("PNG"),
        actor=ACTOR,  # type: ignore[arg-type]
    )
    async with httpx.AsyncClient(base_url=stack.url) as client:
        mine = (await client.get(f"/widget/v1/config/{tenant.widget_id}")).json()
        theirs = (await client.get(f"/widget/v1/config/{other.widget_id}")).json()
        assert mine | {"logo_url": None} == LOOK | {"logo_url": None}
        logo_url = mine["logo_url"]
        assert logo_url.startswith(f"/widget/v1/logo/{tenant.widget_id}/")
        logo = await client.get(logo_url, headers=PAGE)
        assert logo.status_code == 200
        assert logo.headers["content-type"] == "image/png"
        assert logo.content.startswith(b"\x89PNG")
        assert logo.headers["x-content-type-options"] == "nosniff"
        assert logo.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert logo.headers["cross-origin-resource-policy"] == "cross-origin"
        assert logo.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in logo.headers
        # The logo is its organisation's only: another widget's id does not find it.
        borrowed = logo_url.replace(tenant.widget_id, other.widget_id)
        assert_error_shape(await client.get(borrowed), 404, "not_found")
    assert theirs["title"] == "Chat with us"
    assert theirs["logo_url"] is None


async def test_the_config_is_cached_with_an_etag_and_changes_when_the_look_does(
    stack: Stack,
) -> None:
    tenant = await stack.services.tenants.create("Cached Bank", actor=ACTOR)
    path = f"/widget/v1/config/{tenant.widget_id}"
    async with httpx.AsyncClient(base_url=stack.url) as client:
        first = await client.get(path, headers=PAGE)
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "public, max-age=300"
        again = await client.get(path, headers=PAGE | {"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["etag"] == etag
        await stack.services.widget_appearance.set(
            tenant.tenant_id,
            **LOOK,
            actor=ACTOR,  # type: ignore[arg-type]
        )
        changed = await client.get(path, headers=PAGE | {"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert changed.json()["title"] == "Ask Brand Bank"


async def test_any_page_reads_the_config_without_credentials(stack: Stack) -> None:
    tenant = await stack.services.tenants.create("Open Bank", actor=ACTOR)
    async with httpx.AsyncClient(base_url=stack.url) as client:
        answer = await client.get(f"/widget/v1/config/{tenant.widget_id}", headers=PAGE)
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers
    assert answer.headers["cross-origin-resource-policy"] == "cross-origin"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "script-src" not in answer.headers["content-security-policy"]


async def test_an_unknown_or_refused_widget_is_404_in_the_error_shape(stack: Stack) -> None:
    refused = await stack.services.tenants.create("Refused Bank", actor=ACTOR)
    await stack.services.tenants.decide_verification(
        refused.tenant_id, approve=False, reason="Not a bank.", actor=ACTOR
    )
    async with httpx.AsyncClient(base_url=stack.url) as client:
        for widget_id in ("no-such-widget", refused.widget_id, "x" * 200):
            answer = await client.get(f"/widget/v1/config/{widget_id}", headers=PAGE)
            assert_error_shape(answer, 404, "widget_not_found")
            # Said to the page that asked, which can then tell its visitor.
            assert answer.headers["access-control-allow-origin"] == "*"
        logo = await client.get(f"/widget/v1/logo/{refused.widget_id}/{'0' * 64}.png")
        assert_error_shape(logo, 404, "widget_not_found")


async def test_the_person_button_shows_only_where_customers_may_ask_for_a_person(
    stack: Stack,
) -> None:
    tenant = await stack.services.tenants.create("Quiet Bank", actor=ACTOR)
    await stack.services.features.change(
        tenant.tenant_id, FeatureChanges(talk_to_a_person=False), actor=ACTOR
    )
    async with httpx.AsyncClient(base_url=stack.url) as client:
        answer = await client.get(f"/widget/v1/config/{tenant.widget_id}")
    assert answer.json()["features"]["person"] is False
    # What the organisation chose for the button is kept for when it allows people again.
    assert (await stack.services.widget_appearance.get(tenant.tenant_id)).features.person
