"""The Widget page: an owner makes the widget the organisation's own by a form from our own
page (a logo uploaded with it), audited; what they chose wrong is said on the page and nothing
changes; an agent sees the settings and the preview but cannot change them; a form from another
site is refused. The page loads the widget and its preview script from this server only."""

from __future__ import annotations

import re

import httpx

from parlour.identity.models import Role
from tests.conftest import Stack
from tests.support.accounts import Browser, signed_up_and_enrolled
from tests.support.images import SVG, image_bytes
from tests.support.seed import ACTOR
from tests.web.dashboard.test_pages import Pages, csrf_of, enrolled

FIELDS = {
    "title": "Ask Brand Bank",
    "greeting": "Hello! How can we help?",
    "brand_colour": "#0b5d1e",
    "launcher_position": "left",
    "hours_message": "Closed now: back on Monday.",
    "feature_rating": "on",
    "feature_person": "on",
    "language": "de",
}


async def upload(
    pages: Pages, path: str, fields: dict[str, str], logo: tuple[str, bytes, str]
) -> httpx.Response:
    """The form as a browser sends it with a file chosen: multipart, from our own origin."""
    headers = pages._headers() | {"origin": pages.origin}
    return await pages.client.post(path, data=fields, files={"logo": logo}, headers=headers)


async def test_an_owner_makes_the_widget_their_own_on_the_page_audited(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages = Pages(client, stack.url)
        await enrolled(stack, pages)
        overview_path = (await pages.get("/dashboard")).headers["location"]
        tenant_id = overview_path.rsplit("/", 1)[-1]
        path = f"{overview_path}/widget"
        page = await pages.get(path)
        assert page.status_code == 200
        assert f'href="{path}"' in page.text  # in the navigation
        assert "Nothing is set yet" in page.text
        # The widget and the preview script, from this server; no inline script.
        scripts = re.findall(r"<script([^>]*)>", page.text)
        assert all('src="/' in attributes for attributes in scripts)
        assert any("/widget/v1/" in s for s in scripts)
        assert any("/dashboard/static/widget-preview.js" in s for s in scripts)
        # Every language the widget ships is offered.
        for code in ("auto", "en", "fr", "de", "es", "hi", "ar"):
            assert f'value="{code}"' in page.text
        fields = {"csrf_token": csrf_of(page)} | FIELDS
        saved = await upload(pages, path, fields, ("logo.png", image_bytes("PNG"), "image/png"))
        assert saved.status_code == 303, saved.text
        assert "__Host-parlour_notice=widget_saved" in saved.headers["set-cookie"]
        shown = await pages.get(path)
        assert 'value="Ask Brand Bank"' in shown.text
        assert 'value="#0b5d1e"' in shown.text
        assert 'class="logo-now"' in shown.text
        script = await pages.get("/dashboard/static/widget-preview.js")
        assert script.headers["content-type"].startswith("text/javascript")

    appearance = await stack.services.widget_appearance.get(tenant_id)
    assert appearance.title == "Ask Brand Bank"
    assert appearance.language == "de"
    assert appearance.launcher_position == "left"
    assert appearance.features.as_dict() == {
        "attachments": False,
        "rating": True,
        "transcript": False,
        "person": True,
    }
    assert appearance.logo_digest is not None
    actions = [e["action"] for e in await stack.services.audit.recent(tenant_id, limit=5)]
    assert "tenant.widget_appearance_set" in actions
    assert "tenant.widget_logo_set" in actions


async def test_a_colour_too_faint_or_an_svg_logo_is_said_on_the_page_and_changes_nothing(
    stack: Stack,
) -> None:
    """T-109: an SVG named logo.png is refused by its content."""
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages = Pages(client, stack.url)
        await enrolled(stack, pages)
        overview_path = (await pages.get("/dashboard")).headers["location"]
        tenant_id = overview_path.rsplit("/", 1)[-1]
        path = f"{overview_path}/widget"
        fields = {"csrf_token": csrf_of(await pages.get(path))} | FIELDS

        faint = await pages.post(path, fields | {"brand_colour": "#808080"})
        assert faint.status_code == 422
        assert "4.5:1" in faint.text
        # What was typed is kept on the page.
        assert 'value="Ask Brand Bank"' in faint.text

        svg = await upload(pages, path, fields, ("logo.png", SVG, "image/png"))
        assert svg.status_code == 415
        assert "SVG is not taken" in svg.text
        assert "<svg" not in svg.text

        # A form from another site is refused before it is read.
        forged = await pages.post(path, fields, origin="https://a.example")
        assert forged.status_code == 403
        without_token = await pages.post(path, FIELDS)
        assert without_token.status_code == 403

    appearance = await stack.services.widget_appearance.get(tenant_id)
    assert not appearance.configured
    assert appearance.logo_digest is None


async def test_an_agent_sees_the_widgets_settings_but_cannot_change_them(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner = Pages(client, stack.url)
        await enrolled(stack, owner)
        overview_path = (await owner.get("/dashboard")).headers["location"]
        tenant_id = overview_path.rsplit("/", 1)[-1]
        await stack.services.widget_appearance.set(
            tenant_id,
            title="Owner's title",
            greeting=None,
            brand_colour="#1f5fbf",
            launcher_position="right",
            hours_message=None,
            features={},
            language="auto",
            actor=ACTOR,
        )
        browser = Browser(client)
        email, _codes = await signed_up_and_enrolled(stack, browser)
        await stack.services.members.add(tenant_id, email, Role.AGENT, actor=ACTOR)
        agent = Pages(client, stack.url)
        agent.cookie = browser.cookie
        path = f"{overview_path}/widget"
        page = await agent.get(path)
        assert page.status_code == 200
        assert 'value="Owner\'s title"' in page.text or "Owner&#39;s title" in page.text
        assert "<fieldset disabled>" in page.text
        assert "Save the widget" not in page.text
        refused = await agent.post(path, {"csrf_token": csrf_of(page)} | FIELDS)
        assert refused.status_code == 403
    assert (await stack.services.widget_appearance.get(tenant_id)).title == "Owner's title"
