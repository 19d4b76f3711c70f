"""An organisation's backend sets how its widget looks over the API: the settings as JSON, the
logo as a raw image body (judged by content, T-109); a colour whose text would not reach WCAG
AA contrast is refused in the error shape with its own code, and nothing changes."""

from __future__ import annotations

import httpx

from tests.conftest import Stack
from tests.support.accounts import COOKIE, Browser, signed_up_and_enrolled
from tests.support.images import HTML, image_bytes
from tests.web.test_errors import assert_error_shape

LOOK = {
    "title": "Ask Brand Bank",
    "greeting": "Hello!",
    "brand_colour": "#0B5D1E",
    "launcher_position": "left",
    "hours_message": None,
    "features": {"attachments": True, "rating": True, "transcript": False, "person": True},
    "language": "es",
}


async def test_an_owner_sets_the_widgets_look_and_logo_over_the_api(stack: Stack) -> None:
    """T-109: an HTML body is refused as a logo; an oversize one is 413."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner = Browser(client)
        email, _codes = await signed_up_and_enrolled(stack, owner)
        account = await stack.services.accounts.by_email(email)
        assert account is not None
        (membership,) = await stack.services.authorisation.memberships(account.account_id)
        path = f"/v1/organisations/{membership.tenant_id}/widget-appearance"

        before = await owner.send("GET", path)
        assert before.json()["configured"] is False
        assert before.json()["title"] == "Chat with us"

        faint = await owner.send("PUT", path, LOOK | {"brand_colour": "#808080"})
        assert_error_shape(faint, 422, "brand_colour_contrast_too_low")
        assert faint.json()["error"]["details"]["text_colour"] in ("#ffffff", "#1c2433")

        saved = await owner.send("PUT", path, LOOK)
        assert saved.status_code == 200
        assert saved.json() | {"configured": None} == LOOK | {
            "brand_colour": "#0b5d1e",
            "logo_url": None,
            "configured": None,
        }

        headers = {"cookie": f"{COOKIE}={owner.cookie}", "x-csrf-token": str(owner.csrf)}
        refused = await client.put(f"{path}/logo", content=HTML, headers=headers)
        assert_error_shape(refused, 415, "logo_not_an_image")
        logo = await client.put(f"{path}/logo", content=image_bytes("WEBP"), headers=headers)
        assert logo.status_code == 200
        logo_url = logo.json()["logo_url"]
        assert logo_url.startswith(f"{stack.url}/widget/v1/logo/")
        assert (await client.get(logo_url)).headers["content-type"] == "image/png"
        too_big = await client.put(
            f"{path}/logo",
            content=image_bytes("PNG")[:8] + b"\0" * 300_000,
            headers=headers,
        )
        assert_error_shape(too_big, 413, "payload_too_large")

        removed = await owner.send("DELETE", f"{path}/logo")
        assert removed.json()["logo_url"] is None
        assert (await owner.send("GET", path)).json()["title"] == "Ask Brand Bank"
