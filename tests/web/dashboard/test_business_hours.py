"""The business hours page: an owner sets the week, closed dates and the reply time by a form
from our own page; what they typed wrong is said on the page, and nothing changes."""

from __future__ import annotations

import httpx

from tests.conftest import Stack
from tests.web.dashboard.test_pages import Pages, csrf_of, enrolled


async def test_an_owner_sets_business_hours_on_the_page_and_a_mistake_changes_nothing(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        pages = Pages(client, stack.url)
        await enrolled(stack, pages)
        overview_path = (await pages.get("/dashboard")).headers["location"]
        path = f"{overview_path}/business-hours"
        page = await pages.get(path)
        assert page.status_code == 200
        assert "No hours are set" in page.text
        fields = {
            "csrf_token": csrf_of(page),
            "day-0": "09:00-12:30, 13:30-17:00",
            "day-4": "09:00-16:00",
            "closed_dates": "2026-12-25\n2026-12-26",
            "reply_time": "within 4 hours",
        }
        saved = await pages.post(path, fields)
        assert saved.status_code == 303
        assert "__Host-parlour_notice=business_hours_saved" in saved.headers["set-cookie"]
        shown = await pages.get(path)
        assert 'value="09:00-12:30, 13:30-17:00"' in shown.text
        assert "2026-12-26" in shown.text

        wrong = await pages.post(path, fields | {"day-1": "17:00-09:00"})
        assert wrong.status_code == 200
        assert "must end after it starts" in wrong.text
        # A form from another site is refused before it is read.
        forged = await pages.post(
            path, fields | {"day-2": "00:00-23:59"}, origin="https://a.example"
        )
        assert forged.status_code == 403

    tenant_id = overview_path.rsplit("/", 1)[-1]
    hours = await stack.services.business_hours.get(tenant_id)
    assert sorted({p.weekday for p in hours.periods}) == [0, 4]
