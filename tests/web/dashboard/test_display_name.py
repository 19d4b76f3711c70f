"""A member names themselves for customers on their account page: the name their replies are
signed with in the widget (audited); a name with markup is refused and shown escaped."""

from __future__ import annotations

import httpx

from tests.conftest import Stack
from tests.web.dashboard.test_pages import Pages, csrf_of, enrolled


async def test_a_member_sets_the_name_customers_see_on_their_account_page(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages = Pages(client, stack.url)
        email, _ = await enrolled(stack, pages)
        page = await pages.get("/dashboard/account")
        assert 'name="display_name"' in page.text
        saved = await pages.post(
            "/dashboard/account/display-name",
            {"csrf_token": csrf_of(page), "display_name": "  Ada   Lovelace "},
        )
        refused = await pages.post(
            "/dashboard/account/display-name",
            {"csrf_token": csrf_of(page), "display_name": "<b>Ada</b>"},
        )
        cross_site = await pages.post(
            "/dashboard/account/display-name",
            {"csrf_token": csrf_of(page), "display_name": "Mallory"},
            origin="https://evil.example",
        )
    assert "Customers see your replies as Ada Lovelace." in saved.text
    assert 'value="Ada Lovelace"' in saved.text
    assert refused.status_code == 422
    assert "<b>Ada</b>" not in refused.text
    assert cross_site.status_code == 403
    account = await stack.services.accounts.by_email(email)
    assert account is not None
    assert account.display_name == "Ada Lovelace"
