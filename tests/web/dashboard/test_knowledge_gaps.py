"""The knowledge gaps on the dashboard: each gap opens the minimum FAQ editor prefilled with its
question, named by id in the address, never by its text (addresses are logged); the entry it
adds is live in a new version and the assistant answers from it; an analyst reads the gaps but
cannot add one."""

from __future__ import annotations

import html
import re

import httpx

from tests.conftest import Stack
from tests.support.accounts import COOKIE, Browser, signed_up_and_enrolled
from tests.support.assistants import ask
from tests.support.seed import Organisation

QUESTION = "Do you sell travel insurance for skiing trips?"
ANSWER = "Yes: our winter travel cover includes skiing, from 4 euros a day."


class Pages:
    """The dashboard with a session made over /v1: form posts from our own origin."""

    def __init__(self, client: httpx.AsyncClient, browser: Browser, origin: str) -> None:
        self.client = client
        self.headers = {"cookie": f"{COOKIE}={browser.cookie}"}
        self.origin = origin

    async def get(self, path: str) -> httpx.Response:
        return await self.client.get(path, headers=self.headers)

    async def post(self, path: str, fields: dict[str, str]) -> httpx.Response:
        headers = self.headers | {"origin": self.origin}
        return await self.client.post(path, data=fields, headers=headers)


def csrf_of(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


async def member(stack: Stack, client: httpx.AsyncClient) -> tuple[Browser, str, str]:
    """Someone signed up with an organisation of their own: their browser, the organisation
    and their e-mail address."""
    browser = Browser(client)
    email, _codes = await signed_up_and_enrolled(stack, browser)
    (organisation,) = (await browser.send("GET", "/v1/organisations")).json()
    return browser, organisation["tenant_id"], email


async def test_a_gap_opens_a_prefilled_entry_whose_new_version_the_assistant_answers_from(
    stack: Stack,
) -> None:
    """The button's address names the question by id; its text is in no address, since
    access logs keep addresses."""
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        browser, org, _email = await member(stack, client)
        pages = Pages(client, browser, stack.url)
        await services.knowledge.gaps.record(org, "q-ski-1", "c1", QUESTION)
        await services.knowledge.gaps.record(
            org, "q-ski-2", "c2", "Is skiing covered by travel insurance?"
        )

        report = await pages.get(f"/dashboard/o/{org}/reports")
        assert report.status_code == 200
        assert html.escape(QUESTION) in report.text
        links = re.findall(r'href="([^"]*new-entry[^"]*)"', report.text)
        assert len(links) == 1  # one gap, asked twice
        assert re.fullmatch(
            rf"/dashboard/o/{org}/knowledge/new-entry\?question=q-ski-[12]", links[0]
        )
        assert all("insurance" not in href for href in re.findall(r'href="([^"]*)"', report.text))

        form = await pages.get(html.unescape(links[0]))
        assert form.status_code == 200
        prefilled = re.search(r'<textarea id="question"[^>]*>([^<]*)</textarea>', form.text)
        assert prefilled is not None
        assert html.unescape(prefilled[1]) in {QUESTION, "Is skiing covered by travel insurance?"}
        before = len(await services.knowledge.versions(org))

        added = await pages.post(
            f"/dashboard/o/{org}/knowledge/new-entry",
            {"csrf_token": csrf_of(form), "question": QUESTION, "answer": ANSWER},
        )
        assert added.status_code == 200, added.text
        assert "live now" in added.text

    versions = await services.knowledge.versions(org)
    assert len(versions) == before + 1
    assert versions[0].published
    assert [s.name for s in versions[0].sources] == ["dashboard-entries.csv"]
    uploads = await services.audit.recent(org, limit=5, action_prefix="knowledge.uploaded")
    assert uploads[0]["actor"]["type"] == "account"  # type: ignore[index]
    tenant = await services.tenants.get(org)
    answer = await ask(services, services.assistant, Organisation(tenant, "", ""), QUESTION)
    assert answer is not None
    assert answer.body == ANSWER


async def test_an_analyst_reads_the_gaps_but_cannot_add_an_entry(stack: Stack) -> None:
    services = stack.services
    async with httpx.AsyncClient(base_url=stack.url) as client:
        owner, org, _email = await member(stack, client)
        analyst, _their_own, email = await member(stack, client)
        await owner.send(
            "POST", f"/v1/organisations/{org}/invitations", {"email": email, "role": "analyst"}
        )
        (waiting,) = (await analyst.send("GET", "/v1/invitations")).json()
        await analyst.send("POST", f"/v1/invitations/{waiting['invitation_id']}/accept")
        await services.knowledge.gaps.record(org, "q1", "c1", QUESTION)
        pages = Pages(client, analyst, stack.url)

        report = await pages.get(f"/dashboard/o/{org}/reports")
        assert report.status_code == 200
        assert html.escape(QUESTION) in report.text
        assert "new-entry" not in report.text  # no button they could not use
        assert (
            await pages.get(f"/dashboard/o/{org}/knowledge/new-entry?question=q1")
        ).status_code == 403
        posted = await pages.post(
            f"/dashboard/o/{org}/knowledge/new-entry",
            {"csrf_token": csrf_of(report), "question": QUESTION, "answer": ANSWER},
        )
        assert posted.status_code == 403
    assert await services.knowledge.versions(org) == []
