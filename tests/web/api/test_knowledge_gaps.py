"""The knowledge gaps report over /v1: an organisation's unanswered questions, grouped, for its
members who read reports, in its own time zone, and never another organisation's."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.conftest import Stack, running_stack
from tests.support import seed
from tests.support.accounts import Browser, signed_up_and_enrolled
from tests.web.test_errors import assert_error_shape


@pytest.fixture
async def any_stack(database_url: str, tmp_path: Path) -> AsyncIterator[Stack]:
    """A running server on each backend in turn."""
    async with running_stack(tmp_path, database_url) as running:
        yield running


async def owner_of_new_organisation(stack: Stack, client: httpx.AsyncClient) -> tuple[Browser, str]:
    browser = Browser(client)
    await signed_up_and_enrolled(stack, browser)
    (organisation,) = (await browser.send("GET", "/v1/organisations")).json()
    return browser, organisation["tenant_id"]


def today_in(stack: Stack, time_zone: str) -> str:
    return stack.services.clock().astimezone(ZoneInfo(time_zone)).date().isoformat()


async def test_t103_an_organisations_gaps_never_show_another_organisations_questions(
    any_stack: Stack,
) -> None:
    """T-103: A's gap clusters hold A's unanswered questions only, on both backends; B's
    report is refused to A's members."""
    gaps = any_stack.services.knowledge.gaps
    async with httpx.AsyncClient(base_url=any_stack.url) as client:
        a, org_a = await owner_of_new_organisation(any_stack, client)
        b, org_b = await owner_of_new_organisation(any_stack, client)
        await gaps.record(org_a, "qa1", "ca", "Do you sell travel insurance?")
        await gaps.record(org_a, "qa2", "ca", "Can I buy travel insurance from you?")
        await gaps.record(org_b, "qb1", "cb", "Where is the B-ONLY-CANARY branch?")
        day = today_in(any_stack, "UTC")
        query = f"reports/gaps?from={day}&to={day}"

        answer = await a.send("GET", f"/v1/organisations/{org_a}/{query}")
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert (report["from"], report["to"], report["time_zone"]) == (day, day, "UTC")
        assert report["questions"] == 2
        (gap,) = report["gaps"]
        assert gap["count"] == 2
        assert {s["question_id"] for s in gap["samples"]} == {"qa1", "qa2"}
        assert "B-ONLY-CANARY" not in answer.text

        refused = await a.send("GET", f"/v1/organisations/{org_b}/{query}")
        assert refused.status_code in (403, 404)
        assert "B-ONLY-CANARY" not in refused.text
        theirs = (await b.send("GET", f"/v1/organisations/{org_b}/{query}")).json()
        assert [g["label"]["question_id"] for g in theirs["gaps"]] == ["qb1"]


async def test_the_period_is_read_in_the_organisations_time_zone(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner, org = await owner_of_new_organisation(stack, client)
        zone = "Pacific/Kiritimati"  # UTC+14: its day is rarely UTC's
        await stack.services.tenants.set_time_zone(org, zone, actor=seed.ACTOR)
        await stack.services.knowledge.gaps.record(org, "q1", "c1", "Do you deliver abroad?")
        today = stack.services.clock().astimezone(ZoneInfo(zone)).date()
        yesterday = (today - timedelta(days=1)).isoformat()
        path = f"/v1/organisations/{org}/reports/gaps"
        now = (await owner.send("GET", f"{path}?from={today}&to={today}")).json()
        before = (await owner.send("GET", f"{path}?from={yesterday}&to={yesterday}")).json()
    assert (now["time_zone"], now["questions"], before["questions"]) == (zone, 1, 0)


async def test_dates_that_are_not_days_or_a_period_backwards_are_422_in_the_error_shape(
    stack: Stack,
) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner, org = await owner_of_new_organisation(stack, client)
        path = f"/v1/organisations/{org}/reports/gaps"
        for query in (
            "?from=2026-13-01&to=2026-12-31",
            "?from=2026-01-01&to=tomorrow",
            "?from=2026-02-01&to=2026-01-01",
        ):
            assert_error_shape(await owner.send("GET", path + query), 422, "invalid_period")
        missing = await owner.send("GET", path + "?from=2026-01-01")
        assert_error_shape(missing, 422, "invalid_input")


async def test_an_analyst_reads_the_gaps_and_a_stranger_is_refused(stack: Stack) -> None:
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner, org = await owner_of_new_organisation(stack, client)
        analyst = Browser(client)
        email, _codes = await signed_up_and_enrolled(stack, analyst)
        await owner.send(
            "POST", f"/v1/organisations/{org}/invitations", {"email": email, "role": "analyst"}
        )
        (waiting,) = (await analyst.send("GET", "/v1/invitations")).json()
        await analyst.send("POST", f"/v1/invitations/{waiting['invitation_id']}/accept")
        stranger = Browser(client)
        await signed_up_and_enrolled(stack, stranger)
        day = today_in(stack, "UTC")
        path = f"/v1/organisations/{org}/reports/gaps?from={day}&to={day}"
        assert (await analyst.send("GET", path)).status_code == 200
        assert (await stranger.send("GET", path)).status_code in (403, 404)
